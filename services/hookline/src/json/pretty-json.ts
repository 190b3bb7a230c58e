import { format } from "jsonc-parser";
import { MAX_JSON_DEPTH } from "./json-input-rules.js";

/**
 * A stored JSON text (an event's `data`, a hook's `custom_data`) indented two
 * spaces for reading, every token kept as written: the number
 * `9007199254740993` stays that, where `JSON.stringify(JSON.parse(text))`
 * would round it. jsonc-parser's formatter only moves whitespace. A text
 * that is not JSON (a receiver's body), or that nests deeper than
 * MAX_JSON_DEPTH (a receiver's answer may), comes back unchanged: indenting
 * n levels writes about n² spaces, so 30,000 levels in a 64 KB answer would
 * make gigabytes. Time and size are linear in the text otherwise.
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
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return text;
  // Not jsonc-parser's applyEdits: it rebuilds the whole text once per edit,
  // so a 120 KB array of numbers (60,000 edits) took over a minute and held
  // the event loop — every page of the server — for all of it.
  const parts: string[] = [];
  let at = 0;
  for (const edit of format(text, undefined, { tabSize: 2, insertSpaces: true, eol: "\n" })) {
    parts.push(text.slice(at, edit.offset), edit.content);
    at = edit.offset + edit.length;
  }
  parts.push(text.slice(at));
  return parts.join("");
}

/** Whether the JSON text's objects and arrays nest deeper than `limit` (brackets inside strings do not count). */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // a backslash escapes the next character, a quote included
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > limit) return true;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return false;
}
