/**
 * The target of the `rel="next"` link in an RFC 8288 `Link` header, or
 * undefined. `rel` may list several relation types separated by spaces.
 *
 * @example nextLink('</v1/hooks?after=4>; rel="next"') // "/v1/hooks?after=4"
 */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const [, target, params = ""] of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const types = (rel?.[1] ?? rel?.[2] ?? "").toLowerCase().split(/\s+/);
    if (types.includes("next")) return target;
  }
  return undefined;
}
