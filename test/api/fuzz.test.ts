import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseDigest as digestOf, testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_ADMIN_TOKEN, startTestServer, type TestServer } from "../support/server.js";
import { responseProblems, specOperations } from "../support/spec.js";

/**
 * Generated invalid and boundary input — bodies, path and query parameters,
 * headers — thrown at every operation of the spec. Whatever comes in: never a
 * 5xx, every error is problem+json (or the error shape the spec documents for
 * that operation), and a refused request changes nothing in the database. Every URL the generators can produce points at 127.0.0.1.
 */
const SAFE_URL = "http://127.0.0.1:9/fuzz";
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** Printed on every run; rerun a failure with `FUZZ_SEED=<seed>`. */
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`fuzz seed: ${SEED} (rerun with FUZZ_SEED=${SEED})`);

/** Strings PostgreSQL cannot store: U+0000 and unpaired surrogates, alone or inside other text. */
const unstorable = fc.oneof(
  fc.constantFrom("\u0000", "a\u0000b", "\ud800", "x\udfffy", "\udc00\ud800", "\ud83d"),
  fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom("\u0000", "\ud800", "\udbff", "\udc00"), fc.string({ maxLength: 10 })).map((parts) => parts.join("")),
);
/** Nesting around the documented limit (64 levels) and far beyond it. */
const nestedJson = (levelChoices: number[]) => fc.constantFrom(...levelChoices).chain((levels) =>
  fc.constantFrom(
    `{"type":"x.y","data":${'{"a":'.repeat(levels)}1${"}".repeat(levels)}}`,
    `{"url":"${SAFE_URL}","events":["*"],"custom_data":${'{"a":'.repeat(levels)}1${"}".repeat(levels)}}`,
    `${"[".repeat(levels)}${"]".repeat(levels)}`,
    `{"data":{"webhooks":${'{"a":'.repeat(levels)}1${"}".repeat(levels)}}}`,
  ),
);
const deepJson = nestedJson([63, 64, 65, 10_000]);
// Within the 4 KiB body limit this server has, so the depth rule (not the size one) answers.
const tooDeepJson = nestedJson([66, 600]);

const pathValue = fc.oneof(
  fc.integer({ min: -2, max: 5 }).map(String),
  fc.constantFrom("0", "-1", "2147483648", "99999999999999999999", "1e3", "0x10", "%00", "..", "me", "", " ", "a\u0000b", "\u0000"),
  fc.string({ maxLength: 40 }),
);
const scalar = fc.oneof(fc.string({ maxLength: 30 }), unstorable, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const validHook = { url: SAFE_URL, events: ["*"] };
const hookField = fc.constantFrom("url", "events", "name", "subject_type", "subject", "filter", "secret", "is_active", "http_verb", "retries", "custom_data", "insecure_ssl", "verify", "type", "data", "name");
const body = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.record({ key: hookField, value: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.object({ maxDepth: 1 })) }).map(({ key, value }) => ({ ...validHook, [key]: value })),
  fc.record({ key: hookField, value: unstorable }).map(({ key, value }) => ({ ...validHook, [key]: value })),
  unstorable.map((value) => ({ type: "x.y", data: { s: value, nested: [{ t: value }] } })),
  unstorable.map((value) => ({ type: "x.y", data: { [value]: 1 } })),
  unstorable.map((value) => ({ data: { url: SAFE_URL, name: value, events: ["*"] } })),
  unstorable.map((value) => ({ type: value, data: {} })),
  fc.constantFrom({ ...validHook, events: [] }, { ...validHook, retries: 1e9 }, { ...validHook, name: "x".repeat(300) }, { ...validHook, custom_data: { x: "y".repeat(9000) } }, { type: "", data: {} }, { type: "PostDeployment", data: { id: 1 } }),
);
const rawBody = fc.oneof(
  body.map((value) => JSON.stringify(value) ?? "null"),
  fc.constantFrom("{", "[1,2", '{"url": }', "\u0000", "null", "", "x".repeat(5000)),
  deepJson,
  fc.string({ maxLength: 100 }),
);
const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json", undefined);
const query = fc.dictionary(
  fc.constantFrom("limit", "after", "before", "event", "subject", "subject_type", "is_active", "x"),
  fc.oneof(pathValue, fc.constantFrom("true", "false", "200", "201"), unstorable),
  { maxKeys: 3 },
);

describe.each(testBackends())("fuzzing every operation ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let key: string;

  beforeAll(async () => {
    database = await backend.create();
    // A small body limit so the 413 path is fuzzed with bodies a client writes in one go.
    server = await startTestServer(database, { HOOKLINE_BODY_LIMIT_BYTES: "4096" });
    key = (await server.newAccount("fuzz")).key;
    await fetch(`${server.url}/v1/hooks`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(validHook) });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const databaseDigest = () => digestOf(database.store);

  it("never answers 5xx, always problem+json for errors, and refused requests write nothing", async () => {
    const operation = fc.constantFrom(...specOperations.map((op) => op.operationId)).map((id) => specOperations.find((op) => op.operationId === id)!);
    // "basic": the key as HTTP Basic password, which picks early Kudu's shapes on `/hooks`.
    const auth = fc.constantFrom<"key" | "basic" | "admin" | "none" | "junk">("key", "key", "key", "basic", "admin", "none", "junk");
    await fc.assert(
      fc.asyncProperty(operation, fc.array(pathValue, { minLength: 3, maxLength: 3 }), query, rawBody, contentType, auth, async (op, values, params, payload, type, who) => {
        let i = 0;
        const path = op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(values[i++] ?? "1"));
        const search = new URLSearchParams(params as Record<string, string>).toString();
        const headers: Record<string, string> = {};
        if (who === "key") headers.authorization = `Bearer ${key}`;
        if (who === "basic") headers.authorization = `Basic ${Buffer.from(`fuzz:${key}`).toString("base64")}`;
        if (who === "admin") headers.authorization = `Bearer ${TEST_ADMIN_TOKEN}`;
        if (who === "junk") headers["x-auth-token"] = "hkl_\u00e9junk";
        if (type) headers["content-type"] = type;
        const sendsBody = !["GET", "HEAD", "DELETE"].includes(op.method);
        const before = await databaseDigest();
        const response = await fetch(`${server.url}${path}${search ? `?${search}` : ""}`, {
          method: op.method,
          headers,
          body: sendsBody ? payload : undefined,
        });
        // A listen session's stream never ends by itself (the property can make a
        // session and then open its stream): its status and headers are its answer.
        const streaming = /^text\/event-stream/.test(response.headers.get("content-type") ?? "");
        const text = streaming ? (await response.body?.cancel(), "") : await response.text();
        const context = `${op.method} ${path}?${search} [${who}, ${type}] ${payload.slice(0, 200)} → ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, context).toBeLessThan(500);
        if (response.status >= 400) {
          // An error is problem+json, or exactly what the spec documents for that
          // operation and status (the Kazoo profile answers in Crossbar's envelope).
          const type = response.headers.get("content-type");
          const parsed = type && /json/.test(type) ? JSON.parse(text) : text;
          const pathname = new URL(path, server.url).pathname;
          if (!/^application\/problem\+json/.test(type ?? "")) {
            expect(responseProblems(op.method, pathname, response.status, type, parsed), context).toEqual([]);
          } else {
            expect(parsed, context).toMatchObject({ type: expect.any(String), title: expect.any(String), status: response.status });
          }
          expect(await databaseDigest(), `refused request changed the database: ${context}`).toBe(before);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, 180_000);

  // The property above rarely lands a bad string in a field that reaches the
  // database with every other part valid; this one always does, for every
  // operation that takes input, so a gap in the shared rules cannot hide.
  it("refuses unstorable text and too-deep JSON with a 400 on every operation, writing nothing", async () => {
    const guarded = specOperations.filter((op) => /^\/(v1|api\/hooks|hooks)(\/|$)/.test(op.path));
    // A key of its own: the property above may have revoked or rotated the
    // shared one (DELETE /v1/keys/1 is as valid an input as any), and a 401
    // would answer before the rule under test.
    const { key } = await server.newAccount("unstorable input");
    const badQuery = fc.tuple(fc.constantFrom("subject", "event", "limit", "x"), fc.constantFrom("\u0000", "a\u0000b", "\u0000\u0000"));
    const badBody = fc.oneof(
      unstorable.map((value) => JSON.stringify({ ...validHook, type: "x.y", name: value, data: { s: value }, callback_url: SAFE_URL })),
      unstorable.map((value) => JSON.stringify({ data: { url: SAFE_URL, events: ["*"], name: value, custom_data: { [value]: 1 } } })),
      tooDeepJson,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...guarded), badQuery, badBody, fc.boolean(), fc.boolean(), async (op, [name, value], payload, inQuery, preferBasic) => {
        const sendsBody = ["POST", "PUT", "PATCH"].includes(op.method);
        const path = op.path.replace(/\{[^}]+\}/g, "1");
        const useQuery = inQuery || !sendsBody;
        const search = useQuery ? `?${new URLSearchParams({ [name]: value }).toString()}` : "";
        // The spec says which operations take the admin token.
        const admin = op.security.some((scheme) => "adminToken" in scheme);
        const basic = preferBasic && op.security.some((scheme) => "basicAuth" in scheme);
        const authorization = admin ? `Bearer ${TEST_ADMIN_TOKEN}` : basic ? `Basic ${Buffer.from(`fuzz:${key}`).toString("base64")}` : `Bearer ${key}`;
        const before = await databaseDigest();
        const response = await fetch(`${server.url}${path}${search}`, {
          method: op.method,
          headers: { authorization, "content-type": "application/json" },
          body: sendsBody ? (useQuery ? "{}" : payload) : undefined,
        });
        const text = await response.text();
        const context = `${op.method} ${path}${search}${basic ? " [Basic]" : ""} ${useQuery ? "" : payload.slice(0, 120)} → ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, context).toBe(400);
        expect(await databaseDigest(), `refused request changed the database: ${context}`).toBe(before);
      }),
      { numRuns: Math.max(guarded.length * 4, 100), seed: SEED },
    );
  }, 180_000);
});
