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
 * key. The text must already be known to be valid JSON (it was parsed); this
 * only locates the span, so a publish can store `data` byte for byte instead
 * of a re-serialisation of a lossy parse. A duplicated key gives its last
 * value, as `JSON.parse` does.
 *
 * @example
 * rawMemberText('{"type":"x","data":{"n":9007199254740993}}', "data") // '{"n":9007199254740993}'
 */
export function rawMemberText(objectText: string, key: string): string | undefined {
  let found: string | undefined;
  for (const member of rawMembers(objectText)) if (member.key === key) found = member.valueText;
  return found;
}

/**
 * Every member of a JSON object text, in the order written, each as its exact
 * text (duplicated keys included, each where it is). What a parse cannot
 * give: `JSON.parse` and lossless-json both build JS objects, which put
 * integer-like keys first, and `JSON.parse` rounds integers beyond 2^53. The
 * text must already be known to be valid JSON (it was parsed).
 *
 * @example
 * rawMembers('{"z":1, "10":2.50}') // [{ key: "z", keyText: '"z"', valueText: "1" }, { key: "10", keyText: '"10"', valueText: "2.50" }]
 */
export function rawMembers(objectText: string): RawMember[] {
  const members: RawMember[] = [];
  let depth = 0;
  let i = 0;
  let keyText: string | undefined;
  let valueStart = -1;
  const n = objectText.length;
  const endMember = (end: number) => {
    if (valueStart >= 0 && keyText !== undefined) {
      const key = keyText.includes("\\") ? (JSON.parse(keyText) as string) : keyText.slice(1, -1);
      members.push({ key, keyText, valueText: objectText.slice(valueStart, end).trim() });
    }
    valueStart = -1;
    keyText = undefined;
  };
  while (i < n) {
    const ch = objectText.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      i = stringEnd(objectText, i);
      // At depth 1 a string is a key when a ':' follows it, else a value.
      if (depth === 1 && valueStart < 0 && nextNonSpace(objectText, i) === 0x3a) keyText = objectText.slice(start, i);
      continue;
    }
    if (ch === 0x3a /* : */ && depth === 1) {
      valueStart = i + 1;
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      depth++;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      depth--;
      if (depth === 0) endMember(i);
    } else if (ch === 0x2c /* , */ && depth === 1) {
      endMember(i);
    }
    i++;
  }
  return members;
}

/** The index just past the closing quote of the string starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c /* \ */) i += 2;
    else if (ch === 0x22) return i + 1;
    else i++;
  }
  return i;
}

function nextNonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  return text.charCodeAt(i);
}

/**
 * The exact text of each element of a JSON array text, in order (what
 * rawMemberText is to an object's members): a batch publish stores each
 * event's `data` byte for byte. The text must already be known to be valid JSON.
 *
 * @example
 * rawElementTexts('[{"n":1.0}, 2]') // ['{"n":1.0}', '2']
 */
export function rawElementTexts(arrayText: string): string[] {
  const elements: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < arrayText.length; i++) {
    const ch = arrayText.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      i = stringEnd(arrayText, i) - 1;
    } else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth === 1) start = i + 1;
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) {
      if (--depth === 0) {
        const last = arrayText.slice(start, i).trim();
        if (last !== "") elements.push(last);
        break;
      }
    } else if (ch === 0x2c /* , */ && depth === 1) {
      elements.push(arrayText.slice(start, i).trim());
      start = i + 1;
    }
  }
  return elements;
}
