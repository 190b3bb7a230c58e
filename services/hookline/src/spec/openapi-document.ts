import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inlineLocalRefs } from "./inline-refs.js";

/**
 * The hand-maintained spec, as `pnpm spec:bundle` bundles it from
 * openapi/openapi.yaml into one document (committed; the contract suite fails
 * when it is stale). The server serves it verbatim and takes the built-in
 * event types' schemas from its `webhooks:` section, so the spec stays the one
 * source of truth for what a payload must look like.
 */
export const OPENAPI_BUNDLE_PATH = fileURLToPath(new URL("../../../../openapi/generated/openapi.json", import.meta.url));

export interface OpenApiDocument {
  openapi: string;
  paths?: Record<string, Record<string, unknown>>;
  webhooks?: Record<string, { post?: WebhookOperation }>;
  components?: Record<string, unknown>;
  [key: string]: unknown;
}

interface WebhookOperation {
  summary?: string;
  description?: string;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
}

export interface BuiltInEventType {
  name: string;
  summary: string;
  description: string;
  /** A self-contained JSON Schema (2020-12) of the payload's `data`. */
  schema: Record<string, unknown>;
  /** The `data` of the spec's first example for this type, if it has one (what a test event sends). */
  example: Record<string, unknown> | undefined;
}

let cached: OpenApiDocument | undefined;

export function loadOpenApiDocument(): OpenApiDocument {
  cached ??= JSON.parse(readFileSync(OPENAPI_BUNDLE_PATH, "utf8")) as OpenApiDocument;
  return cached;
}

/** The built-in event types: one per entry of the spec's `webhooks:` section. */
export function builtInEventTypes(document: OpenApiDocument): BuiltInEventType[] {
  return Object.entries(document.webhooks ?? {}).flatMap(([name, item]) => {
    const operation = item.post;
    const schema = operation?.requestBody?.content?.["application/json"]?.schema;
    if (!operation || !schema) return [];
    return [{
      name,
      summary: operation.summary ?? name,
      description: operation.description ?? "",
      schema: inlineLocalRefs(schema, document) as Record<string, unknown>,
      example: eventTypeExample(document, name),
    }];
  });
}

/**
 * The spec's example payload (`data`) for a built-in event type: the first
 * example of its webhook's request body, or the schema's own example.
 * Undefined for a type the spec does not define or gives no example for.
 */
export function eventTypeExample(document: OpenApiDocument, name: string): Record<string, unknown> | undefined {
  const media = document.webhooks?.[name]?.post?.requestBody?.content?.["application/json"] as
    | { examples?: Record<string, { value?: unknown }>; example?: unknown; schema?: { example?: unknown } }
    | undefined;
  const example = Object.values(media?.examples ?? {})[0]?.value ?? media?.example ?? media?.schema?.example;
  return example && typeof example === "object" && !Array.isArray(example) ? (example as Record<string, unknown>) : undefined;
}
