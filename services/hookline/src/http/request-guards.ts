import { isUtf8 } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./app-env.js";
import { findJsonInputProblem, MAX_JSON_DEPTH, unstorableText } from "../json/json-input-rules.js";
import { ProblemError, type FieldError } from "./problem.js";

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/**
 * The input rules every operation shares, ahead of its own validation:
 * - the path and query string hold only text PostgreSQL can store (no U+0000,
 *   no unpaired surrogates), else 400 naming `query.<name>` or `path`;
 * - for the methods that carry a body: the body limit (413), the JSON
 *   content-type rule (415), valid UTF-8 (400), valid JSON (400), nesting at most
 *   `MAX_JSON_DEPTH` levels and only storable strings and keys (400 naming the
 *   JSON path, e.g. `body.data.s`). The parsed body goes into hono's body
 *   cache, so the route's validator does not parse it again.
 * A GET skips the body part: hono's body limit reads `c.req.raw.body`, which
 * makes @hono/node-server build a full WHATWG Request for every request.
 */
export function bodyGuards(maxBytes: number): MiddlewareHandler<AppEnv> {
  const limit = limitBody(maxBytes);
  const json = requireJsonBody();
  return (c, next) => {
    checkPathAndQuery(c.req.url);
    return METHODS_WITH_BODY.has(c.req.method)
      ? limit(c, async () => {
          await json(c, async () => {
            await parseJsonBody(c);
            await next();
          });
        })
      : next();
  };
}

function badInput(error: FieldError): ProblemError {
  return new ProblemError("validation", "The request has invalid fields.", [error]);
}

/** Refuses a decoded path or query parameter PostgreSQL could not store. Cheap when there is no `%`. */
function checkPathAndQuery(url: string): void {
  const queryAt = url.indexOf("?");
  const pathPart = queryAt < 0 ? url : url.slice(0, queryAt);
  if (pathPart.includes("%")) {
    const why = unstorableText(safeDecode(pathPart));
    if (why) throw badInput({ path: "path", message: why });
  }
  if (queryAt < 0 || !url.includes("%", queryAt)) return;
  for (const [name, value] of new URLSearchParams(url.slice(queryAt + 1))) {
    const why = unstorableText(name) ?? unstorableText(value);
    if (why) throw badInput({ path: `query.${name}`, message: why });
  }
}

/** decodeURIComponent, keeping text that is not valid percent-encoding as it is (as hono's router does). */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Refuses, before anything reads it as text, a body that is not valid UTF-8. */
const notUtf8 = () => new ProblemError("malformed-request", "The body is not valid UTF-8: send JSON text encoded as UTF-8.");

/**
 * The body as text, refused when it is not valid UTF-8: decoding would put
 * U+FFFD in place of the bad bytes, and the changed text would be stored and
 * delivered as if the client had sent it. The text is cached for the routes.
 */
async function bodyText(c: Context<AppEnv>): Promise<string> {
  const cache = c.req.bodyCache as { text?: Promise<string> };
  // limitBody's own reader has checked and cached it already.
  if (cache.text) return cache.text;
  const bytes = Buffer.from(await c.req.arrayBuffer());
  if (!isUtf8(bytes)) throw notUtf8();
  const text = bytes.toString("utf8");
  cache.text = Promise.resolve(text);
  return text;
}

/** Parses a JSON body once, refuses what breaks the shared rules, and caches the parsed value for the validators. */
async function parseJsonBody(c: Context<AppEnv>): Promise<void> {
  const text = await bodyText(c);
  if (text.trim() === "") return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProblemError("malformed-request", `The body is not valid JSON: ${(error as Error).message}`);
  }
  const problem = findJsonInputProblem(value, "body");
  if (problem) {
    const deep = problem.message.includes(`${MAX_JSON_DEPTH} levels`);
    throw new ProblemError("validation", deep ? `JSON input may nest at most ${MAX_JSON_DEPTH} levels.` : "The request has invalid fields.", [problem]);
  }
  (c.req.bodyCache as { json?: Promise<unknown> }).json = Promise.resolve(value);
}

/**
 * Refuses bodies over `maxBytes` with a 413 problem, before anything parses
 * them. A Content-Length is enough to decide: Node's HTTP parser never hands
 * over more bytes than it declares. Only a body without one (chunked) goes
 * through hono's counting stream, which costs a WHATWG Request and a stream
 * adapter per request.
 */
function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => new ProblemError("payload-too-large", `The request body is larger than ${maxBytes} bytes.`);
  const counting = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c, next) => {
    const declared = c.req.header("content-length");
    if (declared === undefined || c.req.header("transfer-encoding") !== undefined) return counting(c, next);
    if (Number(declared) > maxBytes) throw tooLarge();
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    // Read the body from Node's stream ourselves and hand it to hono's body
    // cache: the validators' `c.req.json()` then parses it without
    // @hono/node-server converting the request into a WHATWG Request and
    // stream first (a third of a publish's CPU).
    // (hono types the cache as values, but stores and awaits promises of them.)
    if (incoming) {
      const text = readText(incoming);
      // A route that never reads its body must not turn a client abort into an unhandled rejection.
      text.catch(() => {});
      (c.req.bodyCache as { text?: Promise<string> }).text = text;
    }
    await next();
  };
}

async function readText(incoming: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  if (!isUtf8(bytes)) throw notUtf8();
  return bytes.toString("utf8");
}

/**
 * A request that sends a body must say it is JSON: anything else is a 415,
 * rather than a confusing validation error about fields the server could not read.
 */
function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (METHODS_WITH_BODY.has(c.req.method)) {
      const length = c.req.header("content-length");
      const hasBody = (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
      const contentType = c.req.header("content-type");
      if (hasBody && !(contentType && JSON_CONTENT_TYPE.test(contentType))) {
        throw new ProblemError("unsupported-media-type", `Send the body as application/json (got ${contentType ?? "no content type"}).`);
      }
    }
    await next();
  };
}
