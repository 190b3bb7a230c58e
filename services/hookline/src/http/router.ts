import { OpenAPIHono, type RouteConfig, type z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { every } from "hono/combine";
import { validator } from "hono/validator";
import type { AppEnv, AppRouteHandler } from "./app-env.js";
import { installFieldMessages } from "../domain/field-messages.js";
import { fieldErrors, ProblemError } from "./problem.js";

installFieldMessages();

/**
 * A router whose request validation failures become one 400 problem naming
 * every bad field (`body.url`, `query.limit`, …) instead of zod's raw output.
 *
 * @example
 * const router = createRouter().openapi(getHookRoute, getHook);
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalidInput(result.target, result.error.issues);
    },
  });
}

function invalidInput(target: string, issues: z.core.$ZodIssue[]): ProblemError {
  const part = target === "json" ? "body" : target === "param" ? "path" : target;
  return new ProblemError("validation", "The request has invalid fields.", fieldErrors(part, issues));
}

/**
 * `route`'s handler as one middleware, with `before` ahead of it and the
 * route's path-parameter and JSON-body validation (the same 400 problem as
 * `createRouter`'s), for an operation served at a path another route owns:
 * early Kudu's `/hooks`, picked by its credentials before lopennaef's route
 * runs. It answers without calling `next`.
 *
 * @example
 * const kudu = routeChain(createKuduHook, handlers.createEarly, guards);
 * router.on("POST", "/hooks", (c, next) => (sendsBasicAuth(c.req) ? kudu(c, next) : next()));
 */
export function routeChain<R extends RouteConfig>(route: R, handler: AppRouteHandler<R>, before: MiddlewareHandler<AppEnv>[] = []): MiddlewareHandler<AppEnv> {
  const chain = [...before];
  const params = route.request?.params as z.ZodType | undefined;
  if (params) chain.push(zodInput("param", params));
  const media = route.request?.body?.content["application/json"];
  if (media && "schema" in media) chain.push(zodInput("json", media.schema as z.ZodType));
  chain.push(handler as unknown as MiddlewareHandler<AppEnv>);
  return every(...chain);
}

function zodInput(target: "param" | "json", schema: z.ZodType): MiddlewareHandler<AppEnv> {
  return validator(target, async (value) => {
    const result = await schema.safeParseAsync(value);
    if (!result.success) throw invalidInput(target, result.error.issues);
    return result.data as never;
  });
}

/** Every `/v1` operation but the admin ones: an API key as Bearer token or `X-Auth-Token`. */
export const apiKeySecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { authToken: [] }];
export const adminSecurity: Record<string, string[]>[] = [{ adminToken: [] }];

/** `content` for a JSON request or response body. */
export function jsonContent<T>(schema: T) {
  return { "application/json": { schema } };
}
