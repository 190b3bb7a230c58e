import * as openapiFetch from "openapi-fetch";
import type { Client } from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";
import { withRetries, type FetchFunction, type RetryOptions } from "./retry.js";
import { withTypedAnswers } from "./typed-answers.js";

// openapi-fetch's CommonJS build sets `exports.default` without `__esModule`,
// so in our CommonJS build the namespace's `default` is that whole exports
// object; the ESM build gets the function itself. Take it wherever it is.
const createFetchClient: typeof openapiFetch.default =
  typeof openapiFetch.default === "function" ? openapiFetch.default : (openapiFetch.default as unknown as { default: typeof openapiFetch.default }).default;

/** An RFC 9457 problem document, as every Hookline error body is. */
export type Problem = components["schemas"]["Problem"];

/** The openapi-fetch client over Hookline's spec: `GET`, `POST`, `PATCH`, … typed per path. */
export type HooklineClient = Client<paths>;

export interface HooklineClientOptions {
  /** Where Hookline runs, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** An API key (or, for account operations, the admin token), sent as `Authorization: Bearer`. */
  apiKey: string;
  /** The fetch to send requests with (default `globalThis.fetch`). */
  fetch?: FetchFunction;
  /** Retry settings for idempotent calls, or `false` to send every request once. */
  retry?: RetryOptions | false;
}

/**
 * A typed Hookline client. Calls return `{ data, error, response }` (they do
 * not throw on HTTP errors); `error` is the operation's problem document, or
 * an `about:blank` problem with the status when what came was not one (an
 * empty or HTML answer from a proxy, truncated JSON). Writes get a generated
 * `Idempotency-Key` and are retried like reads (unless `retry: false`).
 *
 * @example
 * const hookline = createClient({ baseUrl: "http://127.0.0.1:8080", apiKey });
 * const { data, error } = await hookline.GET("/v1/hooks/{id}", { params: { path: { id: 4 } } });
 */
export function createClient(options: HooklineClientOptions): HooklineClient {
  requireOption(options, "baseUrl", "where Hookline runs, e.g. http://127.0.0.1:8080");
  requireOption(options, "apiKey", "an API key (hkl_…) made by `hookline keys create` or printed at first start");
  const baseFetch: FetchFunction = options.fetch ?? ((request, init) => globalThis.fetch(request, init));
  return createFetchClient<paths>({
    baseUrl: options.baseUrl,
    headers: { Authorization: `Bearer ${options.apiKey}` },
    // Answers are made readable first, so an empty 503 or a truncated 200 is
    // a typed problem to the retries and to the caller alike.
    fetch: options.retry === false ? withTypedAnswers(baseFetch) : withRetries(withTypedAnswers(baseFetch), options.retry),
  });
}

/** A missing option fails here, naming it, rather than as `Cannot read properties of undefined` later. */
function requireOption(options: HooklineClientOptions | undefined, name: "baseUrl" | "apiKey", what: string): void {
  const value = (options as Partial<HooklineClientOptions> | undefined)?.[name];
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`createClient: the \`${name}\` option is required (${what}); got ${value === "" ? "an empty string" : typeof value}`);
  }
}
