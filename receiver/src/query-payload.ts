/**
 * The payload of a `http_verb: get` delivery, read back from its query
 * string. Hookline sends string fields as they are and JSON-encodes every
 * other value, so a value that parses as JSON to a non-string (a number,
 * boolean, null, object or array) is taken as that value. One ambiguity is
 * inherent: a string field that looks like a number ("2600") comes back as a
 * number. Use POST hooks where exact types matter.
 *
 * @example
 * queryPayload("call_id=abc&timestamp=63881234567") // { call_id: "abc", timestamp: 63881234567 }
 */
export function queryPayload(query: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(query)) fields[name] = decodeValue(value);
  return fields;
}

function decodeValue(value: string): unknown {
  if (!/^(-?\d|true$|false$|null$|[[{])/.test(value)) return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "string" ? value : parsed;
  } catch {
    return value;
  }
}

/** The raw query string of a request target (`/path?a=1` → `a=1`), exactly as sent: it is what the signature covers. */
export function rawQueryOf(target: string): string {
  const at = target.indexOf("?");
  return at === -1 ? "" : target.slice(at + 1);
}
