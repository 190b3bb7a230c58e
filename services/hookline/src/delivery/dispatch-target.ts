/** A delivery URL as undici dispatches it: the origin, and the path with its query. */
export interface DispatchTarget {
  origin: string;
  path: string;
}

/** URLs kept parsed; the oldest is forgotten beyond this many (one per hook URL in use). */
const MAX_TARGETS = 10_000;
const targets = new Map<string, DispatchTarget | null>();

/**
 * What undici's `request(url)` makes of `url` before it dispatches (its
 * origin and `pathname + search`), parsed once per URL rather than on every
 * attempt: the WHATWG parse and the URL's getters were CPU of the delivery
 * thread spent per delivery on the same few strings. Undefined when undici
 * would refuse the URL (it does not parse, or is neither http: nor https:):
 * the caller then hands it to `request(url)`, which throws as it always did.
 *
 * @example
 * dispatchTargetOf("http://example.com:8080/hook?a=1") // { origin: "http://example.com:8080", path: "/hook?a=1" }
 */
export function dispatchTargetOf(url: string): DispatchTarget | undefined {
  let target = targets.get(url);
  if (target === undefined) {
    target = parse(url);
    if (targets.size >= MAX_TARGETS) targets.delete(targets.keys().next().value!);
    targets.set(url, target);
  }
  return target ?? undefined;
}

function parse(url: string): DispatchTarget | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  return { origin: parsed.origin, path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname };
}
