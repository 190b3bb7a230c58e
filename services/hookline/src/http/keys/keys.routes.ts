import { createRoute, z } from "@hono/zod-openapi";
import { decimalInteger, MAX_INT4 } from "../decimal-integers.js";
import { AccountIdParamsSchema, accountIdParam, ApiKeyCreateSchema, ApiKeySchema } from "../accounts/accounts.routes.js";
import { problemResponses } from "../problem.js";
import { adminSecurity, apiKeySecurity, jsonContent as json } from "../router.js";

export const ApiKeyInfoSchema = z
  .strictObject({
    id: z.number().int(),
    account_id: z.string(),
    name: z.string(),
    key_prefix: z.string(),
    created_at: z.string().openapi({ format: "date-time" }),
    last_used_at: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("ApiKeyInfo");

export const ApiKeyListSchema = z.array(ApiKeyInfoSchema).openapi("ApiKeyList");

const keyId = decimalInteger(1, MAX_INT4);
const KeyParams = z.object({ key_id: keyId });
const AccountKeyParams = z.object({ account_id: accountIdParam, key_id: keyId });

const listed = { description: "The account's active keys.", content: json(ApiKeyListSchema) };
const created = { description: "The key. `key` is shown this once and cannot be read again.", content: json(ApiKeySchema) };
const createBody = { body: { required: false, content: json(ApiKeyCreateSchema) } };

export const listOwnApiKeys = createRoute({
  method: "get", path: "/v1/keys", operationId: "listOwnApiKeys", tags: ["Accounts"], security: apiKeySecurity,
  summary: "List the calling account's API keys",
  responses: { 200: listed, ...problemResponses(401) },
});

export const createOwnApiKey = createRoute({
  method: "post", path: "/v1/keys", operationId: "createOwnApiKey", tags: ["Accounts"], security: apiKeySecurity,
  summary: "Create an API key for the calling account",
  request: createBody,
  responses: { 201: created, ...problemResponses(400, 401, 413, 415) },
});

export const revokeOwnApiKey = createRoute({
  method: "delete", path: "/v1/keys/{key_id}", operationId: "revokeOwnApiKey", tags: ["Accounts"], security: apiKeySecurity,
  summary: "Revoke one of the calling account's API keys",
  request: { params: KeyParams },
  responses: { 204: { description: "Revoked." }, ...problemResponses(400, 401, 404) },
});

export const rotateOwnApiKey = createRoute({
  method: "post", path: "/v1/keys/{key_id}/rotate", operationId: "rotateOwnApiKey", tags: ["Accounts"], security: apiKeySecurity,
  summary: "Rotate one of the calling account's API keys",
  request: { params: KeyParams },
  responses: { 201: { ...created, description: "The new key. `key` is shown this once and cannot be read again." }, ...problemResponses(400, 401, 404) },
});

export const listApiKeys = createRoute({
  method: "get", path: "/v1/accounts/{account_id}/keys", operationId: "listApiKeys", tags: ["Accounts"], security: adminSecurity,
  summary: "List an account's API keys",
  request: { params: AccountIdParamsSchema },
  responses: { 200: listed, ...problemResponses(400, 401, 404) },
});

export const revokeApiKey = createRoute({
  method: "delete", path: "/v1/accounts/{account_id}/keys/{key_id}", operationId: "revokeApiKey", tags: ["Accounts"], security: adminSecurity,
  summary: "Revoke an account's API key",
  request: { params: AccountKeyParams },
  responses: { 204: { description: "Revoked." }, ...problemResponses(400, 401, 404) },
});

export const rotateApiKey = createRoute({
  method: "post", path: "/v1/accounts/{account_id}/keys/{key_id}/rotate", operationId: "rotateApiKey", tags: ["Accounts"], security: adminSecurity,
  summary: "Rotate an account's API key",
  request: { params: AccountKeyParams },
  responses: { 201: { ...created, description: "The new key. `key` is shown this once and cannot be read again." }, ...problemResponses(400, 401, 404) },
});

export type ListOwnApiKeysRoute = typeof listOwnApiKeys;
export type CreateOwnApiKeyRoute = typeof createOwnApiKey;
export type RevokeOwnApiKeyRoute = typeof revokeOwnApiKey;
export type RotateOwnApiKeyRoute = typeof rotateOwnApiKey;
export type ListApiKeysRoute = typeof listApiKeys;
export type RevokeApiKeyRoute = typeof revokeApiKey;
export type RotateApiKeyRoute = typeof rotateApiKey;
