import { parse as losslessParse, stringify as losslessStringify } from "lossless-json";

/**
 * Adds `extra`'s members to the JSON text of an object without re-serialising
 * the object: its text (numbers, key order, spacing) is kept byte for byte,
 * and where a key is in both, the object's own member wins and `extra`'s is
 * left out. The added members come first.
 *
 * @example
 * mergeIntoObjectText('{"n":9007199254740993,"a":1}', { a: 0, team: "x" }) // '{"team":"x","n":9007199254740993,"a":1}'
 */
export function mergeIntoObjectText(objectText: string, extra: Record<string, unknown>): string {
  const own = new Set(Object.keys(JSON.parse(objectText) as object));
  const added = Object.entries(extra)
    .filter(([key]) => !own.has(key))
    .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  if (added.length === 0) return objectText;
  const inner = objectText.trim().slice(1);
  return inner.trim() === "}" ? `{${added.join(",")}}` : `{${added.join(",")},${inner}`;
}

/**
 * The members of an object's JSON text as `[key, text]` pairs for a query
 * string: strings as their value, anything else as JSON with numbers exactly
 * as written (lossless-json; `JSON.parse` would round integers beyond 2^53).
 */
export function objectTextToFields(objectText: string): Array<[string, string]> {
  const value = losslessParse(objectText) as Record<string, unknown>;
  return Object.entries(value).map(([key, v]) => [key, typeof v === "string" ? v : (losslessStringify(v) ?? "null")]);
}
