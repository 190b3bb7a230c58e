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
    // The schema as the spec writes it: an object is closed where the spec
    // says so (`additionalProperties: false`, `unevaluatedProperties: false`),
    // which every response object does (issue 12), so an unlisted field — a
    // leaked `secret` included — fails here.
    validate = ajv.compile(media.schema as object);
    validators.set(key, validate);
  }
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${where}: body${e.instancePath} ${e.message}${unlistedField(e.params)}`);
}

/** The field an additional/unevaluated-properties error is about, so the message names it. */
function unlistedField(params: Record<string, unknown>): string {
  const field = params.additionalProperty ?? params.unevaluatedProperty;
  return typeof field === "string" ? `: ${JSON.stringify(field)}` : "";
}
