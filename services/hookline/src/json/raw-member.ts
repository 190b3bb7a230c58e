// Plain Node ESM loads jsonc-parser's UMD `main` (it has no `exports` map) as
// CommonJS and still finds the named exports, so the named import works in dist/.
import { visit } from "jsonc-parser";

// The spans come from jsonc-parser (Microsoft's, as VS Code uses), whose
// offsets and lengths index the text itself, so a slice is a value exactly as
// written. Its `visit` walk is used, not `parseTree`: publishing reads `data`
// on every request, and building the tree (a node for every value) took about
// 1.5x as long on 1 KB and 100 KB bodies.
// jsonc-parser is tolerant (comments, trailing commas, errors recovered), so
// it locates and never validates: every text given here has already passed
// JSON.parse and the MAX_JSON_DEPTH rule (its parser recurses once per level)
// where the request body was read, or is such a text as stored.

/** One member of a JSON object text, as written. */
export interface RawMember {
  /** The key, decoded (`"d\u0061ta"` reads `data`). */
  key: string;
  /** The key's own text, quotes and escapes included. */
  keyText: string;
  /** The value's exact text, without the whitespace around it. */
  valueText: string;
}

/**
 * The exact text of one member of a JSON object text, as the producer wrote
 * it (numbers, key order, spacing), or undefined when the object has no such
 * key (or the text is not an object). The span comes from jsonc-parser; the
 * text must already have passed `JSON.parse`, as jsonc-parser accepts comments
 * and trailing commas. A publish stores `data` byte for byte this way instead
 * of a re-serialisation of a lossy parse. A duplicated key gives its last
 * value, as `JSON.parse` does.
 *
 * `parsed`, the member's value as `JSON.parse` gave it, lets the common case
 * skip the walk: a producer that serialises with `JSON.stringify` (most do)
 * wrote the member as `"key":` + `JSON.stringify(parsed)`. When the text
 * holds `"key"` once and that exact pair, the pair is the member: unescaped
 * `"key":` cannot lie inside a string, a nested member cannot hold a value
 * equal to the one containing it, and an object's text has no proper prefix
 * that is a whole object. Anything else (spacing, escapes, big numbers, a
 * key used twice) takes the walk.
 *
 * @example
 * rawMemberText('{"type":"x","data":{"n":9007199254740993}}', "data") // '{"n":9007199254740993}'
 */
export function rawMemberText(objectText: string, key: string, parsed?: unknown): string | undefined {
  if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
    const name = JSON.stringify(key);
    const at = objectText.indexOf(name);
    if (at >= 0 && objectText.indexOf(name, at + 1) < 0) {
      const canonical = JSON.stringify(parsed);
      if (objectText.startsWith(`:${canonical}`, at + name.length)) return canonical;
    }
  }
  let start = -1;
  let end = -1;
  visitTopLevel(objectText, "object", (valueStart, valueEnd, member) => {
    if (member?.key === key) [start, end] = [valueStart, valueEnd];
  });
  return start < 0 ? undefined : objectText.slice(start, end);
}

/**
 * Every member of a JSON object text, in the order written, each as its exact
 * text (duplicated keys included, each where it is); empty when the text is
 * not an object. What a parse to JS values cannot give: `JSON.parse` builds
 * objects, which put integer-like keys first, and rounds integers beyond 2^53.
 * The spans and decoded keys come from jsonc-parser; the text must already
 * have passed `JSON.parse`.
 *
 * @example
 * rawMembers('{"z":1, "10":2.50}') // [{ key: "z", keyText: '"z"', valueText: "1" }, { key: "10", keyText: '"10"', valueText: "2.50" }]
 */
export function rawMembers(objectText: string): RawMember[] {
  const members: RawMember[] = [];
  visitTopLevel(objectText, "object", (valueStart, valueEnd, member) => {
    if (member) members.push({ key: member.key, keyText: objectText.slice(member.start, member.end), valueText: objectText.slice(valueStart, valueEnd) });
  });
  return members;
}

/**
 * The exact text of each element of a JSON array text, in order (what
 * rawMemberText is to an object's members), or empty when the text is not an
 * array: a batch publish stores each event's `data` byte for byte. The spans
 * come from jsonc-parser; the text must already have passed `JSON.parse`.
 *
 * @example
 * rawElementTexts('[{"n":1.0}, 2]') // ['{"n":1.0}', '2']
 */
export function rawElementTexts(arrayText: string): string[] {
  const elements: string[] = [];
  visitTopLevel(arrayText, "array", (start, end) => elements.push(arrayText.slice(start, end)));
  return elements;
}

/** A member's key: decoded, and where its text (quotes included) starts and ends. */
interface KeySpan {
  key: string;
  start: number;
  end: number;
}

/**
 * Calls `each` with the span of every top-level value of `text` (an object's
 * members, with their keys, or an array's elements), in the order written,
 * when the root is of `rootType`. Nested values are skipped by returning false
 * from their begin callback: the walk still scans them, but only their end is reported.
 */
function visitTopLevel(text: string, rootType: "object" | "array", each: (start: number, end: number, member?: KeySpan) => void): void {
  let depth = 0;
  let member: KeySpan | undefined;
  let valueStart = 0;
  const begin = (type: "object" | "array") => (offset: number) => {
    depth++;
    if (depth === 1) return type === rootType;
    valueStart = offset;
    return false;
  };
  const end = (offset: number, length: number) => {
    depth--;
    if (depth === 1) each(valueStart, offset + length, member);
  };
  visit(text, {
    onObjectBegin: begin("object"),
    onArrayBegin: begin("array"),
    onObjectEnd: end,
    onArrayEnd: end,
    onObjectProperty: (key, offset, length) => {
      if (depth === 1) member = { key, start: offset, end: offset + length };
    },
    onLiteralValue: (_value: unknown, offset, length) => {
      if (depth === 1) each(offset, offset + length, member);
    },
  });
}
