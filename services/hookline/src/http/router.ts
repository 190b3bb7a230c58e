import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env.js";
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
      if (!result.success) {
        const part = result.target === "json" ? "body" : result.target === "param" ? "path" : result.target;
        throw new ProblemError("validation", "The request has invalid fields.", fieldErrors(part, result.error.issues));
      }
    },
  });
}

/** Every `/v1` operation but the admin ones: an API key as Bearer token or `X-Auth-Token`. */
export const apiKeySecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { authToken: [] }];
export const adminSecurity: Record<string, string[]>[] = [{ adminToken: [] }];

/** `content` for a JSON request or response body. */
export function jsonContent<T>(schema: T) {
  return { "application/json": { schema } };
}
