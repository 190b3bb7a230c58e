/**
 * The first `maxChars` UTF-16 code units of `text`, for an attempt's log
 * (`request_body`, a hook's `last_context`, an error message), as a string
 * PostgreSQL can store and that does not keep `text` alive:
 * - a cut between the two halves of a surrogate pair drops the lone high
 *   half (PostgreSQL refuses one: the whole outcome write failed, and the
 *   delivery was re-sent when its lease ran out);
 * - the prefix is copied, not sliced: V8's slice of a long string points
 *   into it, so a 4 KiB log line held a 256 KiB body in memory for every
 *   outcome waiting to be written.
 * Text at most `maxChars` long is returned as it is.
 *
 * @example
 * logPrefix('{"s":"…😀"}', 4096)
 */
export function logPrefix(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars;
  return Buffer.from(text.slice(0, end), "utf8").toString("utf8");
}
