import { rawMembers, type RawMember } from "./raw-member.js";

/**
 * Adds the members of `extraText` (the JSON text of another object) to the
 * JSON text of an object, both as written: neither is re-serialised, so every
 * number, key and the key order arrive as their producers wrote them. Where a
 * key is in both, the object's own member wins and `extraText`'s is left out.
 * The added members come first, in `extraText`'s order.
 *
 * @example
 * mergeIntoObjectText('{"n":9007199254740993,"a":1}', '{"a":0,"team":"x","m":1.50}') // '{"team":"x","m":1.50,"n":9007199254740993,"a":1}'
 */
export function mergeIntoObjectText(objectText: string, extraText: string): string {
  const own = new Set(rawMembers(objectText).map((member) => member.key));
  const added = lastOfEachKey(rawMembers(extraText))
    .filter((member) => !own.has(member.key))
    .map((member) => `${member.keyText}:${member.valueText}`);
  if (added.length === 0) return objectText;
  const inner = objectText.trim().slice(1);
  return inner.trim() === "}" ? `{${added.join(",")}}` : `{${added.join(",")},${inner}`;
}

/**
 * The members of an object's JSON text as `[key, text]` pairs for a query
 * string, in the order written: strings as their value, anything else as its
 * JSON text exactly as written (numbers beyond 2^53, nested key order).
 *
 * @example
 * objectTextToFields('{"z":"a b","10":1.50}') // [["z", "a b"], ["10", "1.50"]]
 */
export function objectTextToFields(objectText: string): Array<[string, string]> {
  return lastOfEachKey(rawMembers(objectText)).map(({ key, valueText }) => [key, valueText.startsWith('"') ? (JSON.parse(valueText) as string) : valueText]);
}

/** A duplicated key keeps its first place and its last value, as `JSON.parse` reads it. */
function lastOfEachKey(members: RawMember[]): RawMember[] {
  const byKey = new Map<string, RawMember>();
  for (const member of members) byKey.set(member.key, member);
  return [...byKey.values()];
}
