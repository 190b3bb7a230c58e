import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";
import { findOperation, responseProblems, specOperations } from "../support/spec.js";
import { differences, normalizeSchema } from "./openapi-normalize.js";

/**
 * Closed response schemas (issue 12): the spec says of every object a
 * response lists the properties of that nothing else may appear
 * (`additionalProperties: false`, or `unevaluatedProperties: false` over an
 * `allOf`), so the contract check refuses a field the spec does not list.
 * What stays open says so: event `data`, `custom_data`, header maps, an
 * event type's JSON Schema, Kazoo's error `data`.
 */

type Json = any;
const UNLISTED = "unlisted_field";

describe("the spec closes every response object", () => {
  const responseSchemas = specOperations.flatMap((op) =>
    Object.entries(op.responses).flatMap(([status, response]) =>
      Object.entries(response.content ?? {}).map(([type, media]) => ({ where: `${op.method} ${op.path} → ${status} ${type}`, schema: media.schema })),
    ),
  );

  it("lists properties only on closed objects", () => {
    const open = responseSchemas.flatMap(({ where, schema }) => openListedObjects(schema).map((at) => `${where} at ${at || "(root)"}`));
    expect([...new Set(open)]).toEqual([]);
  });

  it("says how an object without listed properties is open", () => {
    const silent = responseSchemas.flatMap(({ where, schema }) => silentMaps(schema).map((at) => `${where} at ${at || "(root)"}`));
    expect([...new Set(silent)]).toEqual([]);
  });
});

/** Where an object lists properties without closing itself (an `allOf` branch is closed by its parent). */
function openListedObjects(schema: Json, at = "", closedByParent = false): string[] {
  if (!schema || typeof schema !== "object") return [];
  const closed = schema.additionalProperties === false || schema.unevaluatedProperties === false;
  const here = schema.properties && !closed && !closedByParent ? [at] : [];
  return [
    ...here,
    ...Object.entries<Json>(schema.properties ?? {}).flatMap(([name, sub]) => openListedObjects(sub, `${at}/${name}`)),
    ...(schema.items ? openListedObjects(schema.items, `${at}/*`) : []),
    ...["anyOf", "oneOf"].flatMap((key) => (schema[key] ?? []).flatMap((sub: Json) => openListedObjects(sub, at))),
    ...(schema.allOf ?? []).flatMap((sub: Json) => openListedObjects(sub, at, schema.unevaluatedProperties === false)),
  ];
}

/** Where an object schema lists no properties and says nothing about the rest (open by omission). */
function silentMaps(schema: Json, at = "", inAllOf = false): string[] {
  if (!schema || typeof schema !== "object") return [];
  const types = [schema.type].flat();
  const here = types.includes("object") && !schema.properties && !inAllOf && !("additionalProperties" in schema) ? [at] : [];
  return [
    ...here,
    ...Object.entries<Json>(schema.properties ?? {}).flatMap(([name, sub]) => silentMaps(sub, `${at}/${name}`)),
    ...(schema.items ? silentMaps(schema.items, `${at}/*`) : []),
    ...["anyOf", "oneOf"].flatMap((key) => (schema[key] ?? []).flatMap((sub: Json) => silentMaps(sub, at))),
    ...(schema.allOf ?? []).flatMap((sub: Json) => silentMaps(sub, at, true)),
  ];
}

describe("spec ≡ server compares closedness (spec-equivalence.test.ts)", () => {
  const id = { id: { type: "integer" } };
  const secret = { secret: { type: "string" } };

  it("a server object that is not strict where the spec is closed differs", () => {
    const spec = normalizeSchema({ type: "object", properties: id, additionalProperties: false });
    const server = normalizeSchema({ type: "object", properties: id });
    expect(differences(spec, server)).toEqual(["at .additionalProperties: only the spec has false"]);
  });

  it("an allOf closed with unevaluatedProperties is the flat closed object", () => {
    const spec = normalizeSchema({ allOf: [{ type: "object", properties: id }, { type: "object", properties: secret }], unevaluatedProperties: false });
    const server = normalizeSchema({ type: "object", properties: { ...id, ...secret }, additionalProperties: false });
    expect(differences(spec, server)).toEqual([]);
  });

  it("an allOf that extends a closed part (zod's .extend() of a strict object) is not", () => {
    const extended = normalizeSchema({ allOf: [{ type: "object", properties: id, additionalProperties: false }, { type: "object", properties: secret, additionalProperties: false }] });
    const flat = normalizeSchema({ type: "object", properties: { ...id, ...secret }, additionalProperties: false });
    expect(differences(flat, extended)).not.toEqual([]);
  });
});

describe.each(testBackends())("a real answer with an unlisted field fails the contract check ($kind)", (backend) => {
  let stack: DeliveryStack;
  /** Real answers, as `METHOD path` → status and body. */
  const answers: Array<{ method: string; path: string; status: number; type: string; body: Json }> = [];

  async function answer(method: string, path: string, body?: unknown) {
    const response = await stack.api.call(method, path, body === undefined ? {} : { body });
    answers.push({ method, path: new URL(path, "http://x").pathname, status: response.status, type: response.headers.get("content-type") ?? "", body: response.body });
    return response;
  }

  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
    const url = stack.receiver.url;
    await answer("GET", "/healthz");
    await answer("GET", "/v1/accounts/me");
    await answer("POST", "/v1/keys", { name: "closed" });
    await answer("GET", "/v1/keys");
    const hook = await answer("POST", "/v1/hooks", { url, events: ["*"], custom_data: { team: "ops" }, filter: { for_all: ["build_repo"] } });
    await answer("GET", `/v1/hooks/${hook.body.id}`);
    await answer("GET", `/v1/hooks/${hook.body.id}/secret`);
    await answer("GET", `/hooks/${hook.body.id}`);
    const kudu = await answer("POST", "/api/hooks", { url, event: "PostDeployment" });
    await answer("GET", `/api/hooks/${kudu.body.id}`);
    const me = stack.account.id;
    await answer("PUT", `/v1/accounts/${me}/webhooks`, { data: { uri: url, hook: "channel_create", custom_data: { line: 1 } } });
    await answer("GET", `/v1/accounts/${me}/webhooks`);
    await answer("PUT", `/v1/accounts/${me}/webhooks`, { data: { hook: "channel_create" } });
    const published = await answer("POST", "/v1/events", { type: "build:custom", subject_type: "build_repo", data: { n: 1, nested: { deep: true } } });
    const event = await answer("GET", `/v1/events/${published.body.id}`);
    const deliveryId = event.body.deliveries[0].id;
    await eventually(async () => {
      const detail = await stack.api.call("GET", `/v1/deliveries/${deliveryId}`);
      return detail.body.status === "succeeded" ? true : undefined;
    }, 10_000, "the delivery succeeded");
    await answer("GET", `/v1/deliveries/${deliveryId}`);
    await answer("GET", "/v1/events?limit=1");
    await answer("POST", "/v1/events/batch", { events: [{ type: "batch:custom", data: {} }, { type: "PostDeployment", data: { id: 5 } }] });
    await answer("POST", `/v1/hooks/${hook.body.id}/recover`, { since: "2026-01-01T00:00:00Z" });
    await answer("GET", "/v1/event-types");
    await answer("POST", "/v1/hooks", { url: "ftp://x", events: [] });
    await answer("GET", "/v1/hooks/2147483647");
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("each answer is as the spec documents it", () => {
    expect(answers.map((a) => `${a.method} ${a.path} → ${a.status}`)).toHaveLength(22);
    expect(answers.flatMap((a) => responseProblems(a.method, a.path, a.status, a.type, a.body))).toEqual([]);
  });

  it("an unlisted field at any object of an answer is named by the check, except in the open maps", () => {
    const open = new Set<string>();
    const unexpected: string[] = [];
    for (const a of answers) {
      const template = `${a.method} ${findOperation(a.method, a.path)!.path} → ${a.status}`;
      const openHere: string[] = [];
      for (const pointer of objectPointers(a.body)) {
        // Inside an open map anything goes, so its insides are not asked about.
        if (openHere.some((o) => pointer.startsWith(`${o}/`))) continue;
        const problems = responseProblems(a.method, a.path, a.status, a.type, withField(a.body, pointer));
        if (problems.length === 0) {
          openHere.push(pointer);
          open.add(`${template} at ${pointer.replace(/\/\d+/g, "/*")}`);
        } else if (!problems.some((p) => p.includes(`"${UNLISTED}"`))) {
          unexpected.push(`${template} at ${pointer}: ${problems.join("; ")}`);
        }
      }
    }
    expect(unexpected).toEqual([]);
    expect([...open].sort()).toEqual([
      "GET /v1/accounts/{account_id}/webhooks → 200 at /data/*/custom_data",
      "GET /v1/deliveries/{id} → 200 at /attempts/*/request_headers",
      "GET /v1/deliveries/{id} → 200 at /attempts/*/response_headers",
      "GET /v1/event-types → 200 at /*/schema",
      "GET /v1/events → 200 at /*/data",
      "GET /v1/events/{id} → 200 at /data",
      "GET /v1/hooks/{id} → 200 at /custom_data",
      "POST /v1/hooks → 201 at /custom_data",
      "PUT /v1/accounts/{account_id}/webhooks → 201 at /data/custom_data",
      "PUT /v1/accounts/{account_id}/webhooks → 400 at /data",
    ]);
  });
});

/** JSON pointers of every plain object in `value`, parents before children. */
function objectPointers(value: Json, at = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => objectPointers(item, `${at}/${i}`));
  if (!value || typeof value !== "object") return [];
  return [at, ...Object.entries(value).flatMap(([key, sub]) => objectPointers(sub, `${at}/${key}`))];
}

/** A deep copy of `body` with UNLISTED added to the object at `pointer` (a string, so typed string maps take it too). */
function withField(body: Json, pointer: string): Json {
  const copy = structuredClone(body);
  const target = pointer.split("/").slice(1).reduce((node: Json, key) => node[key], copy);
  target[UNLISTED] = "x";
  return copy;
}
