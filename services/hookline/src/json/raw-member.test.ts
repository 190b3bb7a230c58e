import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rawElementTexts, rawMembers, rawMemberText } from "./raw-member.js";

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

  it("slices by UTF-16 offsets, so text after astral characters and escapes is still exact", () => {
    const text = '{"s":"é😀\\u00e9\\"","data":{"k":"😀","n":1e400}}';
    expect(rawMemberText(text, "data")).toBe('{"k":"😀","n":1e400}');
  });

  it("finds nothing in a text that is not an object", () => {
    expect(rawMemberText('[{"data":1}]', "data")).toBeUndefined();
    expect(rawMemberText('"data"', "data")).toBeUndefined();
    expect(rawMembers("[1,2]")).toEqual([]);
  });
});

describe("rawElementTexts", () => {
  it("gives each element's exact text, in order, nested brackets and quotes in strings included", () => {
    expect(rawElementTexts(' [ {"n":1.0, "a":[1,"]"]} ,2.50,"x,]" , [ ] ,null ] ')).toEqual(['{"n":1.0, "a":[1,"]"]}', "2.50", '"x,]"', "[ ]", "null"]);
    expect(rawElementTexts("[]")).toEqual([]);
    expect(rawElementTexts('{"a":1}')).toEqual([]);
  });
});

describe("rawMemberText with the parsed value (the fast path)", () => {
  const both = (text: string) => {
    const parsed = (JSON.parse(text) as { data?: unknown }).data;
    return [rawMemberText(text, "data", parsed), rawMemberText(text, "data")];
  };

  it("gives what the walk gives, whatever the producer wrote", () => {
    for (const text of [
      '{"type":"x","data":{"a":1}}',
      '{"data":{"a":1},"subject":"\\"data\\":{\\"a\\":1}"}',
      '{"subject":"x\\"","data":{"b":{"data":{"a":1}}}}',
      '{"data":{"a":1},"data":{"a":1.0}}',
      '{"data":{"a":1}, "data" :{"a":1.0}}',
      '{"d\\u0061ta":{"a":1},"x":{"data":{"a":1}}}',
      '{"data":{"b":1,"10":2}}',
      '{"data":{"n":9007199254740993}}',
      '{"data":{"s":"\\u00e9"}}',
      '{"data":{"k\\"data":{"a":1}}}',
    ]) {
      const [fast, walked] = both(text);
      expect(fast, text).toBe(walked);
    }
  });

  it("agrees with the walk on generated bodies", () => {
    const value = fc.jsonValue({ maxDepth: 3 });
    const body = fc.record({
      data: fc.dictionary(fc.oneof(fc.constant("data"), fc.string()), value),
      subject: fc.oneof(fc.string(), fc.constant('"data":{}')),
      spaced: fc.boolean(),
    });
    fc.assert(
      fc.property(body, ({ data, subject, spaced }) => {
        const dataText = spaced ? JSON.stringify(data, null, 1) : JSON.stringify(data);
        const text = `{"subject":${JSON.stringify(subject)},"data":${dataText}}`;
        const [fast, walked] = both(text);
        expect(fast).toBe(walked);
      }),
      { numRuns: 500 },
    );
  });
});
