import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "./json-input-rules.js";
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

  it("takes time linear in the text: a 60 KB array and a 100 KB object format in milliseconds, not tens of seconds", () => {
    // jsonc-parser's applyEdits rebuilt the text once per edit: ~20 s for each of these
    // (79 s at twice the size), all of it holding the event loop that serves every page.
    const array = `[${Array(30_000).fill("1").join(",")}]`;
    const object = `{${Array.from({ length: 10_000 }, (_, i) => `"k${i}":1.50`).join(",")}}`;
    const started = performance.now();
    const prettyArray = prettyJson(array);
    const prettyObject = prettyJson(object);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(prettyArray.split("\n")).toHaveLength(30_002);
    expect(prettyArray.replace(/\s/g, "")).toBe(array);
    expect(prettyObject.replace(/\s/g, "")).toBe(object);
  });

  it("leaves text nested deeper than MAX_JSON_DEPTH as written (indenting n levels writes ~n² spaces); up to it, indents", () => {
    const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
    expect(prettyJson(nested(MAX_JSON_DEPTH))).toContain(`\n${" ".repeat(2 * (MAX_JSON_DEPTH - 1))}[]`);
    const started = performance.now();
    expect(prettyJson(nested(MAX_JSON_DEPTH + 1))).toBe(nested(MAX_JSON_DEPTH + 1));
    expect(prettyJson(nested(30_000))).toBe(nested(30_000));
    expect(performance.now() - started).toBeLessThan(5_000);
    // Brackets inside strings are text, not nesting.
    const inString = `{"s":"${"[".repeat(100)}\\\"{"}`;
    expect(prettyJson(inString)).toBe(`{\n  "s": "${"[".repeat(100)}\\\"{"\n}`);
  });
});

