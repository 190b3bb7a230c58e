import { z } from "@hono/zod-openapi";

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/**
 * An origin's shape (RFC 6454 §6.2, the serialisation a browser sends):
 * `http` or `https`, `://`, a host (DNS labels of letters, digits and inner
 * hyphens joined by single dots, or an IPv6 address in brackets), and an
 * optional port without leading zeros. No path (not even `/`), query,
 * fragment, userinfo or wildcard. The same text is the spec's `pattern`.
 */
export const ORIGIN_PATTERN = new RegExp(`^https?://(?:\\[[0-9a-fA-F:.]+\\]|${LABEL}(?:\\.${LABEL})*)(?::[1-9][0-9]{0,4})?$`);

/**
 * The serialised origin `text` names when it is one exactly as a browser
 * would send it (lowercase, no default port, canonical IPv6), else undefined:
 * `http://..`, `https://a..b`, `https://a.com:99999`, `https://[:::]`,
 * `https://a.com/` and `https://App.example.com` are not.
 */
export function canonicalOrigin(text: string): string | undefined {
  if (!ORIGIN_PATTERN.test(text) || !URL.canParse(text)) return undefined;
  const origin = new URL(text).origin;
  return origin === text ? origin : undefined;
}

/**
 * A setting that lists origins (frame ancestors, and any allow-list of
 * origins to come): each must be a browser's serialised origin; a bad entry
 * is a 400 naming the field with its index (`body.frame_ancestors.2`).
 *
 * @example
 * z.strictObject({ frame_ancestors: originSchema().array().max(20) })
 */
export function originSchema() {
  return z
    .string()
    .max(256)
    .regex(ORIGIN_PATTERN, "must be an origin such as https://app.example.com (scheme, host, optional port; no path, wildcard or userinfo)")
    .refine((text) => !ORIGIN_PATTERN.test(text) || canonicalOrigin(text) !== undefined, {
      message: "must be an origin exactly as a browser sends it: lowercase, no default port, a port up to 65535, a valid host",
    });
}
