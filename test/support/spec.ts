import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import { inlineLocalRefs, loadOpenApiDocument } from "@hookline/server";

/**
 * The hand-written spec as a response oracle: every answer a test gets over
 * HTTP can be checked against what the spec documents for that operation,
 * status and content type.
 */
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

export interface SpecOperation {
  method: string;
  /** The path template, e.g. /v1/hooks/{id}. */
  path: string;
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  /** The request body as documented, with its examples (if any). */
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown; example?: unknown; examples?: Record<string, { value?: unknown }> }> };
  /** The operation's security requirements, e.g. `[{ adminToken: [] }]` (the document's when the operation sets none). */
  security: Array<Record<string, unknown>>;
}

export const specDocument = loadOpenApiDocument();

/** Every operation of the spec's `paths`, with local refs inlined. */
export const specOperations: SpecOperation[] = Object.entries(specDocument.paths ?? {}).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method]).map((method) => {
    const operation = inlineLocalRefs(item[method], specDocument) as Omit<SpecOperation, "method" | "path" | "security"> & { security?: SpecOperation["security"] };
    return { ...operation, method: method.toUpperCase(), path, security: operation.security ?? (specDocument.security as SpecOperation["security"] | undefined) ?? [] };
  }),
);

/** The operation a concrete request hits: the template that matches with the most literal segments. */
export function findOperation(method: string, concretePath: string): SpecOperation | undefined {
  // The server routes "/a/b/" as "/a/b" (Hono's non-strict matching), so the spec does too.
  if (concretePath.length > 1 && concretePath.endsWith("/")) concretePath = concretePath.slice(0, -1);
  const candidates = specOperations.filter(
    (op) => op.method === method.toUpperCase() && templatePattern(op.path).test(concretePath),
  );
  return candidates.sort((a, b) => literalSegments(b.path) - literalSegments(a.path))[0];
}

function templatePattern(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
  return new RegExp(`^${escaped}$`);
}

function literalSegments(template: string): number {
  return template.split("/").filter((segment) => segment && !segment.startsWith("{")).length;
}

const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
const validators = new Map<string, ValidateFunction>();

/**
 * What is wrong with a response, measured against the spec; an empty list
 * when it is exactly as documented.
 */
export function responseProblems(method: string, concretePath: string, status: number, contentType: string | null, body: unknown): string[] {
  const operation = findOperation(method, concretePath);
  if (!operation) return [`${method} ${concretePath} is not an operation of the spec`];
  const where = `${operation.method} ${operation.path} → ${status}`;
  const documented = operation.responses[String(status)] ?? operation.responses[`${String(status)[0]}XX`];
  if (!documented) return [`${where}: status not documented (documented: ${Object.keys(operation.responses).join(", ")})`];
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  const content = documented.content;
  if (!content) return body === undefined || body === "" ? [] : [`${where}: the spec documents no body, got ${contentType}`];
  const media = mediaType ? content[mediaType] : undefined;
  if (!media) return [`${where}: content type ${contentType} not documented (documented: ${Object.keys(content).join(", ")})`];
  if (!media.schema) return [];
  const key = `${operation.method} ${operation.path} ${status} ${mediaType}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(mediaType && /json/.test(mediaType) ? closeObjects(media.schema) : (media.schema as object));
    validators.set(key, validate);
  }
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${where}: body${e.instancePath} ${e.message}`);
}

type SchemaNode = Record<string, unknown>;
const OPENNESS = ["additionalProperties", "unevaluatedProperties", "patternProperties"];

/**
 * A response schema with every object that lists its properties closed
 * (`unevaluatedProperties: false`) unless it says how it is open, so the
 * contract check fails on any field the spec does not list — a leaked
 * `secret` included (issue 12). Objects that say nothing are closed here
 * rather than in every spec file; an object the spec leaves open on purpose
 * (custom_data, event data) declares `additionalProperties` or lists no
 * properties. The branches of an `allOf` are left open: the object they make
 * up together is closed where they meet.
 */
export function closeObjects(schema: unknown, inAllOf = false): object {
  if (Array.isArray(schema)) return schema.map((item) => closeObjects(item));
  if (!schema || typeof schema !== "object") return schema as object;
  const node: SchemaNode = {};
  for (const [key, value] of Object.entries(schema as SchemaNode)) {
    if (key === "properties" && value && typeof value === "object") {
      node[key] = Object.fromEntries(Object.entries(value as SchemaNode).map(([name, sub]) => [name, closeObjects(sub)]));
    } else if (key === "allOf" && Array.isArray(value)) {
      node[key] = value.map((sub) => closeObjects(sub, true));
    } else if (["items", "oneOf", "anyOf", "prefixItems", "then", "else"].includes(key)) {
      node[key] = closeObjects(value);
    } else {
      node[key] = value;
    }
  }
  const listsProperties = "properties" in node || "allOf" in node;
  if (listsProperties && !inAllOf && !OPENNESS.some((key) => key in node)) node.unevaluatedProperties = false;
  return node;
}
