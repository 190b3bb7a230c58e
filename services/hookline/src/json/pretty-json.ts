import { applyEdits, format } from "jsonc-parser";

/**
 * A stored JSON text (an event's `data`, a hook's `custom_data`) indented two
 * spaces for reading, every token kept as written: the number
 * `9007199254740993` stays that, where `JSON.stringify(JSON.parse(text))`
 * would round it. jsonc-parser's formatter only moves whitespace. A text
 * that is not JSON (a receiver's body) comes back unchanged.
 *
 * @example
 * prettyJson('{"n":1}') // → '{\n  "n": 1\n}'
 */
export function prettyJson(text: string): string {
  try {
    JSON.parse(text);
  } catch {
    return text;
  }
  return applyEdits(text, format(text, undefined, { tabSize: 2, insertSpaces: true, eol: "\n" }));
}
