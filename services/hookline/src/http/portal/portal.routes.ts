import { createRoute, z } from "@hono/zod-openapi";
import { PORTAL_LINK_MAX_TTL_SECONDS, PORTAL_LINK_TTL_SECONDS } from "../../auth/portal-links.js";
import { AccountIdParamsSchema } from "../accounts/accounts.routes.js";
import { originSchema } from "../origins.js";
import { problemResponses } from "../problem.js";
import { adminSecurity, apiKeySecurity, jsonContent as json } from "../router.js";

export const PortalSessionCreateSchema = z
  .strictObject({
    read_only: z.boolean().optional(),
    event_types: z.array(z.string().min(1).max(128)).min(1).max(50).optional(),
    ttl_seconds: z.number().int().min(60).max(PORTAL_LINK_MAX_TTL_SECONDS).optional(),
  })
  .openapi("PortalSessionCreate");

export const PortalSessionSchema = z
  .strictObject({
    url: z.string().openapi({ format: "uri" }),
    expires_at: z.string().openapi({ format: "date-time" }),
    read_only: z.boolean(),
    event_types: z.array(z.string()).nullable(),
  })
  .openapi("PortalSession");

/** An origin a browser sends: scheme, host and port, nothing after (http/origins.ts). */
const FrameAncestor = originSchema();

export const PortalSettingsSchema = z
  .strictObject({
    frame_ancestors: z.array(FrameAncestor).max(20),
    brand_name: z.string().min(1).max(64).nullable(),
    brand_color: z.string().regex(/^#[0-9a-fA-F]{6}$/, "must be a colour as #rrggbb").nullable(),
  })
  .openapi("PortalSettings");


const created = { 201: { description: `The link: open \`url\` once, within \`expires_at\` (default ${PORTAL_LINK_TTL_SECONDS} s).`, content: json(PortalSessionSchema) } };

export const createAccountPortalSession = createRoute({
  method: "post",
  path: "/v1/accounts/{account_id}/portal-sessions",
  operationId: "createAccountPortalSession",
  tags: ["Portal"],
  security: adminSecurity,
  summary: "Create a one-time portal link for an account",
  request: { params: AccountIdParamsSchema, body: { required: false, content: json(PortalSessionCreateSchema) } },
  responses: { ...created, ...problemResponses(400, 401, 404, 413, 415) },
});

export const createPortalSession = createRoute({
  method: "post",
  path: "/v1/portal-sessions",
  operationId: "createPortalSession",
  tags: ["Portal"],
  security: apiKeySecurity,
  summary: "Create a one-time portal link for the calling account",
  request: { body: { required: false, content: json(PortalSessionCreateSchema) } },
  responses: { ...created, ...problemResponses(400, 401, 413, 415) },
});

export const replacePortalSettings = createRoute({
  method: "put",
  path: "/v1/accounts/{account_id}/portal-settings",
  operationId: "replacePortalSettings",
  tags: ["Portal"],
  security: adminSecurity,
  summary: "Set an account's portal settings",
  request: { params: AccountIdParamsSchema, body: { required: true, content: json(PortalSettingsSchema) } },
  responses: { 200: { description: "The settings now in force.", content: json(PortalSettingsSchema) }, ...problemResponses(400, 401, 404, 413, 415) },
});

export type CreateAccountPortalSessionRoute = typeof createAccountPortalSession;
export type CreatePortalSessionRoute = typeof createPortalSession;
export type ReplacePortalSettingsRoute = typeof replacePortalSettings;
