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

/** Refuses bodies over `maxBytes` with a 413 problem, before anything parses them. */
function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ProblemError("payload-too-large", `The request body is larger than ${maxBytes} bytes.`);
    },
  });
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
