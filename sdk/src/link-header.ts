import LinkHeader from "http-link-header";

/** A `Link` header that does not follow RFC 8288's grammar. */
export class UnreadableLinkHeaderError extends Error {
  constructor(
    readonly header: string,
    cause: unknown,
  ) {
    super(`unreadable Link header ${JSON.stringify(header)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "UnreadableLinkHeaderError";
  }
}

/**
 * The target of the `rel="next"` link in an RFC 8288 `Link` header, or
 * undefined when there is none. Parsed by `http-link-header`, so quoted
 * parameters (`title="page, two"`), several links, several relation types
 * (`rel="last next"`) and any parameter order are read by the grammar.
 * Relation types compare case-insensitively (RFC 8288 §2.1.1).
 *
 * @throws UnreadableLinkHeaderError when the header is not valid RFC 8288.
 * @example nextLink('</v1/hooks?after=4>; rel="next"') // "/v1/hooks?after=4"
 */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  let links: LinkHeader;
  try {
    links = LinkHeader.parse(header);
  } catch (error) {
    throw new UnreadableLinkHeaderError(header, error);
  }
  // http-link-header gives one ref per relation type of a multi-type `rel`.
  return links.refs.find((ref) => ref.rel?.toLowerCase().split(/\s+/).includes("next"))?.uri;
}
