import type { ClientPathsWithMethod, MaybeOptionalInit, MethodResponse } from "openapi-fetch";
import { HooklineApiError } from "./api-error.js";
import type { HooklineClient, Problem } from "./client.js";
import type { paths } from "./generated/schema.js";
import { nextLink, UnreadableLinkHeaderError } from "./link-header.js";

type GetPath = ClientPathsWithMethod<HooklineClient, "get">;

/** The paths whose GET answers a JSON array: the paginated lists. */
export type ListPath = {
  [P in GetPath]: MethodResponse<HooklineClient, "get", P> extends readonly unknown[] ? P : never;
}[GetPath];

/** The element type of a list path, e.g. `ListItem<"/v1/hooks">` is a hook. */
export type ListItem<P extends ListPath> = MethodResponse<HooklineClient, "get", P>[number];

type ListInit<P extends ListPath> = MaybeOptionalInit<paths[P], "get">;

/** Pages past this many mean the server keeps linking forward: stop rather than loop forever. */
const MAX_PAGES = 100_000;

/**
 * Every item of a paginated list, page after page, following the
 * `Link: <…>; rel="next"` header until there is none. The first request uses
 * `init`; later ones keep its path parameters and take the query from the
 * link (over the first query's filters). An error page, or a `Link` header
 * that is not RFC 8288, throws a `HooklineApiError`: a walk never ends early
 * in silence.
 *
 * @example
 * for await (const hook of paginate(hookline, "/v1/hooks", { params: { query: { limit: 100 } } })) {
 *   console.log(hook.id, hook.url);
 * }
 */
export async function* paginate<P extends ListPath>(
  client: HooklineClient,
  path: P,
  ...[init]: undefined extends ListInit<P> ? [init?: ListInit<P>] : [init: ListInit<P>]
): AsyncGenerator<ListItem<P>, void, undefined> {
  // openapi-fetch cannot check a generic path against its init; the public
  // signature above is what keeps callers typed.
  const get = client.GET as unknown as (path: string, init: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
  const options = (init ?? {}) as { params?: Record<string, unknown> };
  let query = options.params?.query as Record<string, unknown> | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { data, error, response } = await get(path, { ...options, params: { ...options.params, query } });
    if (!response.ok) throw new HooklineApiError(response.status, error as Problem | undefined);
    yield* data as ListItem<P>[];
    let next: string | undefined;
    try {
      next = nextLink(response.headers.get("Link"));
    } catch (cause) {
      // Stopping here would look like the last page: fail instead.
      if (!(cause instanceof UnreadableLinkHeaderError)) throw cause;
      throw new HooklineApiError(response.status, {
        type: "about:blank",
        title: "Unreadable Link header",
        status: response.status,
        detail: `paginate(${path}) cannot tell whether a next page follows: ${cause.message}`,
      });
    }
    if (!next) return;
    // The link's query wins, but filters it leaves out still apply.
    query = { ...query, ...Object.fromEntries(new URL(next, response.url).searchParams) };
  }
  throw new Error(`paginate(${path}): still linking to a next page after ${MAX_PAGES} pages`);
}
