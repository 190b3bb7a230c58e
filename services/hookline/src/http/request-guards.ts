import type { IncomingMessage } from "node:http";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./app-env.js";
import { ProblemError } from "./problem.js";

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/**
 * The body limit and the JSON content-type rule, for the methods that carry a
 * body. A GET skips both: hono's body limit reads `c.req.raw.body`, which makes
 * @hono/node-server build a full WHATWG Request for every request.
 */
export function bodyGuards(maxBytes: number): MiddlewareHandler<AppEnv> {
  const limit = limitBody(maxBytes);
  const json = requireJsonBody();
  return (c, next) =>
    METHODS_WITH_BODY.has(c.req.method)
      ? limit(c, async () => {
          await json(c, next);
        })
      : next();
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
  return Buffer.concat(chunks).toString("utf8");
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
