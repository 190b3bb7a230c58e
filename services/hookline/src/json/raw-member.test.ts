import { describe, expect, it } from "vitest";
import { rawMembers, rawMemberText } from "./raw-member.js";

describe("rawMemberText", () => {
  it("gives the member's exact text: numbers, key order and spacing as written", () => {
    const text = '{"type":"x","data": {"b":1, "10":2,"n":9007199254740993,"f":1.50e3} ,"subject":null}';
    expect(rawMemberText(text, "data")).toBe('{"b":1, "10":2,"n":9007199254740993,"f":1.50e3}');
    expect(rawMemberText(text, "subject")).toBe("null");
    expect(rawMemberText(text, "missing")).toBeUndefined();
  });

  it("is not fooled by keys, brackets and quotes inside strings or nested values", () => {
    const text = '{"a":{"data":1,"s":"}\\",{"},"d\\u0061ta":[1,{"x":"]"}],"z":"data"}';
    expect(rawMemberText(text, "data")).toBe('[1,{"x":"]"}]');
  });

  it("takes the last of duplicated keys, as JSON.parse does", () => {
    expect(rawMemberText('{"data":{"a":1},"data":{"a":2}}', "data")).toBe('{"a":2}');
  });

  it("lists every member in the order written, keys decoded and as written, duplicates each where it is", () => {
    expect(rawMembers('{ "z" : 1 ,"10":{"b":[1, "}"]},"d\\u0061ta":9007199254740993,"z":2.50 }')).toEqual([
      { key: "z", keyText: '"z"', valueText: "1" },
      { key: "10", keyText: '"10"', valueText: '{"b":[1, "}"]}' },
      { key: "data", keyText: '"d\\u0061ta"', valueText: "9007199254740993" },
      { key: "z", keyText: '"z"', valueText: "2.50" },
    ]);
    expect(rawMembers("{}")).toEqual([]);
  });
});
