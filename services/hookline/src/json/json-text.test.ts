import { describe, expect, it } from "vitest";
import { RawJson, rawJsonOrNull, toJsonText } from "./json-text.js";

describe("toJsonText", () => {
  it("writes an object without raw members as JSON.stringify does (dates, nulls, nesting; undefined left out)", () => {
    const value = { id: 7, at: new Date("2026-12-06T23:00:00.000Z"), custom_data: rawJsonOrNull(null), events: ["a", "b"], nested: { x: 1 }, gone: undefined, "10": "integer-like key" };
    expect(toJsonText(value)).toBe(JSON.stringify(value));
    expect(JSON.parse(toJsonText(value))).toEqual({ "10": "integer-like key", id: 7, at: "2026-12-06T23:00:00.000Z", custom_data: null, events: ["a", "b"], nested: { x: 1 } });
  });

  it("splices a raw member's text unchanged, in the object's member order", () => {
    const raw = '{"z":1,"10":9007199254740993, "a" : [1.0]}';
    const text = toJsonText({ id: 4, custom_data: new RawJson(raw), gone: undefined, url: "http://x/" });
    expect(text).toBe(`{"id":4,"custom_data":${raw},"url":"http://x/"}`);
  });

  it("leaves JSON.stringify unable to write a raw member anywhere else", () => {
    expect(() => JSON.stringify({ nested: { custom_data: new RawJson("{}") } })).toThrow(TypeError);
  });
});
