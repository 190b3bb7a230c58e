import { isUtf8 } from "node:buffer";
import type { IncomingMessage } from "node:http";
import { parse as parseContentType } from "content-type";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./app-env.js";
import { contentCodings, DECODED_CODINGS, decodeContent, unsupportedCoding } from "../encoding/content-codings.js";
import { findJsonInputProblem, MAX_JSON_DEPTH, unstorableText } from "../json/json-input-rules.js";
import { ProblemError, type FieldError } from "./problem.js";

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
/** `application/json` and every `application/<name>+json` (RFC 6839 §3.1), as content-type's parser gives it (lower case, parameters apart). */
const JSON_MEDIA_TYPE = /^application\/(?:[!#$%&'*+.^_`|~0-9a-z-]+\+)?json$/;

/**
 * True when a Content-Type header names JSON, compared as RFC 9110 §8.3.1
 * says: type and subtype case-insensitively, parameters and the whitespace
 * around them ignored — `APPLICATION/JSON ; charset=UTF-8` and
 * `application/vnd.acme.v2+json` are JSON. A `charset` other than UTF-8 is
 * not: JSON exchanged between systems is UTF-8 (RFC 8259 §8.1), and a body
 * labelled `utf-16` would otherwise be refused later as "not valid UTF-8"
 * instead of as the media type it is. The one media-type rule of the API
 * (requireJsonBody).
 */
export function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const { type, parameters } = parseContentType(header);
  const charset = parameters.charset?.toLowerCase();
  return JSON_MEDIA_TYPE.test(type) && (charset === undefined || charset === "utf-8" || charset === "utf8");
}

/**
 * The input rules every operation shares, ahead of its own validation:
 * - the path and query string hold only text PostgreSQL can store (no U+0000,
 *   no unpaired surrogates), else 400 naming `query.<name>` or `path`;
 * - for the methods that carry a body: the Content-Encoding rule (gzip,
 *   deflate and br decoded, others 415), the body limit after decoding
 *   (413), the JSON content-type rule (415, isJsonMediaType), valid UTF-8 (400), valid JSON (400), nesting at most
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
    if (!METHODS_WITH_BODY.has(c.req.method)) return next();
    const codings = requestCodings(c);
    const read = codings.length === 0 ? limit : decodeBody(codings, maxBytes);
    return read(c, async () => {
      await json(c, async () => {
        await parseJsonBody(c);
        await next();
      });
    });
  };
}

/**
 * The dashboard's and portal's share of those rules: the path, the query
 * string and every field of a posted form hold only text PostgreSQL can
 * store, else 400 naming `path`, `query.<name>` or `body.<name>`. Without it
 * a U+0000 in a search box or a hook's name reached a statement and the page
 * was a 500. A form sent with a Content-Encoding follows the JSON
 * operations' rule (gzip, deflate and br decoded, `maxBytes` applied after
 * decoding, others 415): its encoded bytes were read as the form, so a
 * plain form labelled `br` was taken and a gzipped one was garbage.
 */
export function formGuards(maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    checkPathAndQuery(c.req.url);
    if (METHODS_WITH_BODY.has(c.req.method)) {
      const codings = requestCodings(c);
      // Caches the decoded text, which hono's form parser then reads in place of the request's bytes.
      if (codings.length > 0) await decodeBody(codings, maxBytes)(c, async () => {});
      // parseBody caches what it read: the handlers' own parseBody gets the same fields.
      for (const [name, value] of Object.entries(await c.req.parseBody({ all: true }))) {
        for (const text of [name, ...(Array.isArray(value) ? value : [value])]) {
          const why = typeof text === "string" ? unstorableText(text) : undefined;
          if (why) throw badInput({ path: `body.${name}`, message: why });
        }
      }
    }
    await next();
  };
}

/** The request's Content-Encoding codings, refused with a 415 naming the first one Hookline does not decode. */
function requestCodings(c: Context): string[] {
  const codings = contentCodings(c.req.header("content-encoding"));
  const unknown = unsupportedCoding(codings);
  if (unknown !== undefined) {
    const message = `"${unknown}" is not a coding this server decodes: send the body unencoded or as ${DECODED_CODINGS.join(", ")}.`;
    // RFC 9110 §12.5.3: a 415 for a content coding may list the ones that would do.
    throw new ProblemError("unsupported-media-type", `Content-Encoding ${message}`, [{ path: "header.content-encoding", message }], {
      "accept-encoding": "gzip, deflate, br",
    });
  }
  return codings;
}

/**
 * Reads a body sent with a Content-Encoding and caches it decoded, as
 * `limitBody` caches a plain one: the encoded bytes may not exceed
 * `maxBytes`, and the decoded body may not either (413) — decoding streams
 * and stops at the limit, so a small body that expands enormously costs
 * `maxBytes`, not its size. Bytes that do not decode are a 400 naming
 * Content-Encoding; encoded bytes are never read as the body.
 */
function decodeBody(codings: string[], maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (what: string) => new ProblemError("payload-too-large", `The request body is larger than ${maxBytes} bytes ${what}.`);
  return async (c, next) => {
    if (Number(c.req.header("content-length") ?? 0) > maxBytes) throw tooLarge("as sent");
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const source = (incoming ?? c.req.raw.body ?? []) as AsyncIterable<Uint8Array>;
    let encodedSize = 0;
    let sourceError: unknown;
    async function* counted(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of source) {
          encodedSize += chunk.byteLength;
          if (encodedSize > maxBytes) throw tooLarge("as sent");
          yield chunk;
        }
      } catch (error) {
        sourceError = error;
        throw error;
      }
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of decodeContent(counted(), codings)) {
        size += chunk.length;
        if (size > maxBytes) throw tooLarge("once decoded");
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof ProblemError) throw error;
      if (sourceError !== undefined) throw sourceError;
      const message = `the body does not decode as ${codings.join(", ")}: ${(error as Error).message}`;
      throw new ProblemError("malformed-request", `Content-Encoding: ${message}.`, [{ path: "header.content-encoding", message }]);
    }
    const bytes = Buffer.concat(chunks);
    if (!isUtf8(bytes)) throw notUtf8();
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(bytes.toString("utf8"));
    await next();
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
const notUtf8 = () =>
  new ProblemError("malformed-request", "The body is not valid UTF-8: send JSON text encoded as UTF-8.", [{ path: "body", message: "is not valid UTF-8" }]);

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
    const why = `is not valid JSON: ${(error as Error).message}`;
    throw new ProblemError("malformed-request", `The body ${why}`, [{ path: "body", message: why }]);
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
 * A request that sends a body must say it is JSON (isJsonMediaType): anything
 * else is a 415 naming the type, rather than a confusing validation error
 * about fields the server could not read.
 *
 * The route validators of @hono/zod-openapi check the Content-Type again,
 * by rules of their own that refuse JSON RFC 9110 allows (`application/json
 * ; charset=utf-8`, `application/vnd.acme.v2+json`), and hono's json
 * validator skips a body whose type it does not know. So once this rule has
 * accepted the body, the header they read says `application/json`; a
 * bodiless request's Content-Type (which describes nothing) is dropped.
 */
/**
 * Whether the request carries a body. On the wire (HTTP/1.1, RFC 9112 §6.3)
 * only Content-Length or Transfer-Encoding say so — @hono/node-server gives
 * every POST a body stream, empty or not. A Request made in the process
 * (`app.request`, a fetch handler on another runtime) has no such header for
 * a string body: there the Request's own body is the answer.
 */
function sendsBody(c: Context<AppEnv>): boolean {
  const length = c.req.header("content-length");
  if (length !== undefined) return length !== "0";
  if (c.req.header("transfer-encoding") !== undefined) return true;
  const fromNode = (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
  return !fromNode && c.req.raw.body !== null;
}

function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const hasBody = sendsBody(c);
    const contentType = c.req.header("content-type");
    if (hasBody) {
      if (!isJsonMediaType(contentType)) {
        throw new ProblemError("unsupported-media-type", `Send the body as application/json or another JSON type (got ${contentType ?? "no content type"}).`, [
          { path: "header.content-type", message: `${contentType ?? "no content type"} is not a JSON media type` },
        ]);
      }
      if (contentType !== "application/json") c.req.raw.headers.set("content-type", "application/json");
    } else if (contentType !== undefined) {
      c.req.raw.headers.delete("content-type");
    }
    await next();
  };
}
