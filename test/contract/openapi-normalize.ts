import { inlineLocalRefs } from "@hookline/server";

/**
 * Reduces an OpenAPI document to what the contract is made of — for every
 * operation: parameters, request body, response statuses, headers and
 * schemas, security — with refs inlined and documentation-only keywords
 * dropped, so a hand-written spec and a generated one can be compared key by
 * key. Schema spellings that mean the same thing are brought to one form.
 */
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];
const DOCUMENTATION_KEYWORDS = new Set(["description", "summary", "title", "example", "examples", "externalDocs", "$schema", "deprecated", "tags", "operationId"]);

type Json = any;

export function normalizeOperations(document: Json): Record<string, Json> {
  const inlined = inlineLocalRefs(document, document);
  const operations: Record<string, Json> = {};
  for (const [path, item] of Object.entries<Json>(inlined.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operations[`${method.toUpperCase()} ${path}`] = normalizeOperation(operation, item.parameters ?? [], inlined.security);
    }
  }
  return operations;
}

function normalizeOperation(operation: Json, pathParameters: Json[], documentSecurity: Json): Json {
  const parameters: Record<string, Json> = {};
  for (const parameter of [...pathParameters, ...(operation.parameters ?? [])]) {
    parameters[`${parameter.in} ${parameter.in === "header" ? parameter.name.toLowerCase() : parameter.name}`] = {
      required: parameter.required ?? false,
      schema: normalizeSchema(parameter.schema ?? {}),
    };
  }
  const responses: Record<string, Json> = {};
  for (const [status, response] of Object.entries<Json>(operation.responses ?? {})) {
    responses[status] = {
      headers: Object.fromEntries(
        Object.entries<Json>(response.headers ?? {}).map(([name, header]) => [name.toLowerCase(), { required: header.required ?? false, schema: normalizeSchema(header.schema ?? {}) }]),
      ),
      content: normalizeContent(response.content),
    };
  }
  return {
    security: normalizeSecurity(operation.security ?? documentSecurity ?? []),
    parameters,
    requestBody: operation.requestBody
      ? { required: operation.requestBody.required ?? false, content: normalizeContent(operation.requestBody.content) }
      : null,
    responses,
  };
}

function normalizeContent(content: Json): Json {
  return Object.fromEntries(Object.entries<Json>(content ?? {}).map(([type, media]) => [type, normalizeSchema(media.schema ?? {})]));
}

function normalizeSecurity(security: Json[]): string[] {
  return security.map((requirement) => Object.keys(requirement).sort().join("+") || "none").sort();
}

/** One spelling per meaning: see the cases below. */
export function normalizeSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(normalizeSchema);
  if (!schema || typeof schema !== "object") return schema;
  let result: Json = {};
  for (const [key, value] of Object.entries<Json>(schema)) {
    if (DOCUMENTATION_KEYWORDS.has(key) || key.startsWith("x-")) continue;
    if (key === "properties") result.properties = Object.fromEntries(Object.entries<Json>(value).map(([k, v]) => [k, normalizeSchema(v)]));
    else result[key] = normalizeSchema(value);
  }
  // allOf of object schemas → one object schema (how `.extend()` is written by
  // hand) — unless a part is closed on its own: an `allOf` with a closed part
  // that another part extends matches nothing, so it stays as written and
  // differs from the flat object it was meant to be.
  if (Array.isArray(result.allOf) && result.allOf.every((part: Json) => (part.type === "object" || part.properties) && !isClosed(part))) {
    const { allOf, ...rest } = result;
    result = allOf.reduce(
      (merged: Json, part: Json) => ({
        ...merged,
        ...part,
        properties: { ...merged.properties, ...part.properties },
        required: [...(merged.required ?? []), ...(part.required ?? [])],
      }),
      rest,
    );
    if (result.required.length === 0) delete result.required;
  }
  // Closed after the merge: `unevaluatedProperties: false` over an object
  // whose properties are all listed in place means `additionalProperties: false`.
  if (result.unevaluatedProperties === false && !COMPOSITION_KEYWORDS.some((key) => key in result)) {
    delete result.unevaluatedProperties;
    result.additionalProperties ??= false;
  }
  // anyOf [X, {type: null}] → X with "null" among its types.
  if (Array.isArray(result.anyOf) && result.anyOf.length === 2 && result.anyOf.some((s: Json) => s.type === "null")) {
    const { anyOf, ...rest } = result;
    const other = anyOf.find((s: Json) => s.type !== "null");
    result = { ...rest, ...other, type: [...[other.type ?? []].flat(), "null"] };
  }
  if (Array.isArray(result.type)) {
    result.type = [...new Set<string>(result.type)].sort();
    if (result.type.length === 1) result.type = result.type[0];
  }
  if (Array.isArray(result.required)) result.required = [...new Set(result.required)].sort();
  if (Array.isArray(result.enum) && result.enum.length === 1) {
    result.const = result.enum[0];
    delete result.enum;
  }
  if (Array.isArray(result.enum)) result.enum = [...result.enum].sort();
  // An empty or `true` additionalProperties allows what omitting it allows;
  // `false` is kept, so a server schema that is not strict where the spec is
  // closed (or the reverse) is a difference.
  if (result.additionalProperties === true || isEmptyObject(result.additionalProperties)) delete result.additionalProperties;
  return result;
}

const COMPOSITION_KEYWORDS = ["allOf", "anyOf", "oneOf", "if", "then", "else", "dependentSchemas", "$ref"];

function isClosed(schema: Json): boolean {
  return schema.additionalProperties === false || schema.unevaluatedProperties === false;
}

function isEmptyObject(value: Json): boolean {
  return value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** Every difference between two normalized values, as "at <path>: spec … / server …" lines. */
export function differences(spec: Json, server: Json, path = ""): string[] {
  if (JSON.stringify(spec) === JSON.stringify(server)) return [];
  // Arrays of the same length (anyOf, oneOf branches) compare item by item, so key order inside them does not count.
  if (Array.isArray(spec) && Array.isArray(server) && spec.length === server.length) {
    return spec.flatMap((item, i) => differences(item, server[i], `${path}[${i}]`));
  }
  const bothObjects = spec && server && typeof spec === "object" && typeof server === "object" && !Array.isArray(spec) && !Array.isArray(server);
  if (!bothObjects) return [`at ${path || "(root)"}: spec has ${JSON.stringify(spec)}, server has ${JSON.stringify(server)}`];
  const keys = new Set([...Object.keys(spec), ...Object.keys(server)]);
  return [...keys].sort().flatMap((key) => {
    const next = `${path}.${key}`;
    if (!(key in spec)) return [`at ${next}: only the server has ${JSON.stringify(server[key])}`];
    if (!(key in server)) return [`at ${next}: only the spec has ${JSON.stringify(spec[key])}`];
    return differences(spec[key], server[key], next);
  });
}
