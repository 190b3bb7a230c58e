import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../problem.js";
import { adminSecurity, apiKeySecurity, jsonContent as json } from "../router.js";

export const AccountSchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Account");

export const AccountCreateSchema = z.strictObject({ name: z.string().min(1).max(256) }).openapi("AccountCreate");

export const ApiKeyCreateSchema = z.strictObject({ name: z.string().min(1).max(256).optional() }).openapi("ApiKeyCreate");

export const ApiKeySchema = z
  .strictObject({
    id: z.number().int(),
    account_id: z.string(),
    name: z.string(),
    key: z.string(),
    key_prefix: z.string(),
    created_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("ApiKey");

/** An account's id in a path (`/v1/accounts/{account_id}/…`, Kazoo's `/v2/accounts/{account_id}/…`). */
export const accountIdParam = z.string().min(1).max(64);

export const AccountIdParamsSchema = z.object({ account_id: accountIdParam });


export const createAccount = createRoute({
  method: "post",
  path: "/v1/accounts",
  operationId: "createAccount",
  tags: ["Accounts"],
  security: adminSecurity,
  summary: "Create an account",
  request: { body: { required: true, content: json(AccountCreateSchema) } },
  responses: {
    201: { description: "The account.", headers: z.object({ Location: z.string() }), content: json(AccountSchema) },
    ...problemResponses(400, 401, 413, 415),
  },
});

export const createApiKey = createRoute({
  method: "post",
  path: "/v1/accounts/{account_id}/keys",
  operationId: "createApiKey",
  tags: ["Accounts"],
  security: adminSecurity,
  summary: "Create an API key for an account",
  request: { params: AccountIdParamsSchema, body: { required: false, content: json(ApiKeyCreateSchema) } },
  responses: {
    201: { description: "The key. `key` is shown this once and cannot be read again.", content: json(ApiKeySchema) },
    ...problemResponses(400, 401, 404, 413, 415),
  },
});

export const getCurrentAccount = createRoute({
  method: "get",
  path: "/v1/accounts/me",
  operationId: "getCurrentAccount",
  tags: ["Accounts"],
  security: apiKeySecurity,
  summary: "The account of the calling API key",
  responses: { 200: { description: "The account.", content: json(AccountSchema) }, ...problemResponses(401) },
});

export type CreateAccountRoute = typeof createAccount;
export type CreateApiKeyRoute = typeof createApiKey;
export type GetCurrentAccountRoute = typeof getCurrentAccount;
