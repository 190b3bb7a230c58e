import { describe, expect, it } from "vitest";
import { prettyJson } from "./pretty-json.js";

describe("prettyJson", () => {
  it("indents stored JSON text once, never encoding it as a string again", () => {
    expect(prettyJson('{"n":1}')).toBe('{\n  "n": 1\n}');
    expect(prettyJson('{"a":[1,{"b":null}]}')).toBe('{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ]\n}');
  });

  it("keeps every token as written: big numbers, escapes, key order", () => {
    const pretty = prettyJson('{"z":9007199254740993,"a":"\\u00e9\\n","e":1.50E+3}');
    expect(pretty).toContain("9007199254740993");
    expect(pretty).toContain('"\\u00e9\\n"');
    expect(pretty).toContain("1.50E+3");
    expect(pretty.indexOf('"z"')).toBeLessThan(pretty.indexOf('"a"'));
  });

  it("gives back text that is not JSON unchanged", () => {
    expect(prettyJson("ok, thanks")).toBe("ok, thanks");
    expect(prettyJson('{"a":1,}')).toBe('{"a":1,}');
  });
});
