import { inlineLocalRefs } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from "../support/server.js";
import { specDocument, specOperations, type SpecOperation } from "../support/spec.js";

/*
 * The kind: a number from a client read loosely. `z.coerce.number()` and
 * `Number()` took `GET /v1/events/0x10` as event 16, `1e3` as 1000, and
 * ` 16`, `+16`, `016`, `16.0` as 16: one resource under many names, a typo
 * answered 404 as if it named a missing one, and a huge id could reach an
 * int4 column (5xx). Every integer path and query parameter of the spec
 * (our API, the seed profiles, listen, keys, admin routes) must be decimal
 * digits within range, else a problem+json 400 naming the field. Generated
 * from the spec, so a new parameter is covered the day it is documented.
 * The dashboard's routes and the CLI's arguments use the same rule
 * (http/decimal-integers.ts) and are checked below too.
 */
const BAD_SPELLINGS = ["0x10", "1e3", " 16", "+16", "016", "16.0", "-1", "1_000", "", "99999999999999999999", "Infinity", "NaN"];

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  schema?: { type?: string };
}

function parametersOf(op: SpecOperation): Parameter[] {
  const item = (specDocument.paths as Record<string, { parameters?: unknown[]; [method: string]: unknown }>)[op.path]!;
  const own = ((item[op.method.toLowerCase()] as { parameters?: unknown[] }).parameters ?? []) as unknown[];
  return [...(item.parameters ?? []), ...own].map((p) => inlineLocalRefs(p, specDocument) as Parameter);
}

const integerParams = specOperations.flatMap((op) =>
  parametersOf(op)
    .filter((p) => (p.in === "path" || p.in === "query") && p.schema?.type === "integer")
    .map((param) => ({ op, param })),
);

const adminOnly = (op: SpecOperation) => op.security.length > 0 && op.security.every((r) => Object.keys(r).every((name) => name === "adminToken"));

function exampleBody(op: SpecOperation): string | undefined {
  const media = op.requestBody?.content?.["application/json"];
  if (!media) return undefined;
  const example = media.example ?? Object.values(media.examples ?? {})[0]?.value ?? (media.schema as { example?: unknown } | undefined)?.example ?? {};
  return JSON.stringify(example);
}

describe.each(testBackends())("integers from clients are decimal digits in range ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let account: { id: string; key: string };

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    account = await server.newAccount("strict");
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("finds the integer parameters of every part of the spec", () => {
    const names = integerParams.map(({ op, param }) => `${op.operationId}:${param.in}.${param.name}`);
    expect(names).toEqual(expect.arrayContaining(["getHook:path.id", "getEvent:path.id", "getDelivery:path.id", "listHooks:query.limit", "kuduGetHook:path.id", "kazooGetWebhook:path.webhook_id"]));
  });

  it("every integer path and query parameter answers a bad spelling with 400 naming it, never 404 or 5xx", async () => {
    const wrong: string[] = [];
    for (const { op, param } of integerParams) {
      // An empty path segment is another route (404/405), not this parameter.
      for (const bad of BAD_SPELLINGS.filter((b) => b !== "" || param.in === "query")) {
        const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
          name === param.name && param.in === "path" ? encodeURIComponent(bad) : name === "account_id" ? account.id : /id$/.test(name) ? "1" : "x",
        );
        const query = param.in === "query" ? `?${param.name}=${encodeURIComponent(bad)}` : "";
        const body = exampleBody(op);
        const response = await fetch(`${server.url}${path}${query}`, {
          method: op.method,
          headers: { authorization: `Bearer ${adminOnly(op) ? TEST_ADMIN_TOKEN : account.key}`, ...(body ? { "content-type": "application/json" } : {}) },
          ...(body ? { body } : {}),
        });
        const text = await response.text();
        // Kazoo's envelope names a bad field its own way: data.<field>.
        const named = text.includes(`"${param.in}.${param.name}"`) || (op.operationId.startsWith("kazoo") && text.includes(`"data":{"${param.name}"`));
        // Kazoo answers in its own envelope (documented in the spec), every other API in problem+json.
        const problem = op.operationId.startsWith("kazoo") || response.headers.get("content-type")?.includes("problem+json");
        if (response.status !== 400 || !named || !problem) {
          wrong.push(`${op.operationId} ${param.in}.${param.name}=${JSON.stringify(bad)} → ${response.status} ${text.slice(0, 160)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it("the canonical spelling still works: 0 and in-range ids", async () => {
    const hook = await fetch(`${server.url}/v1/hooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${account.key}`, "content-type": "application/json" },
      body: JSON.stringify({ url: "http://127.0.0.1:9/strict", events: ["*"] }),
    });
    const { id } = (await hook.json()) as { id: number };
    expect((await fetch(`${server.url}/v1/hooks/${id}`, { headers: { authorization: `Bearer ${account.key}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/v1/hooks?after=0&limit=200`, { headers: { authorization: `Bearer ${account.key}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/v1/hooks/2147483647`, { headers: { authorization: `Bearer ${account.key}` } })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/hooks/2147483648`, { headers: { authorization: `Bearer ${account.key}` } })).status).toBe(400);
  });
});

describe("CLI integer arguments are decimal digits in range", () => {
  const cases = [
    { args: ["secrets", "reencrypt", "--batch", "1e3"], message: /--batch must be/ },
    { args: ["portal", "--ttl", "0x3c"], message: /--ttl must be/ },
    { args: ["keys", "revoke", "+16"], message: /KEY_ID must be/ },
  ];
  for (const { args, message } of cases) {
    it(`hookline ${args.join(" ")} is refused, naming the argument`, async () => {
      const { CLI, startProcess } = await import("../cli/run-hookline.js");
      const child = startProcess(CLI, args, { HOOKLINE_DATA_DIR: "memory://", HOOKLINE_API_KEY: "hl_test_unused" });
      expect(await child.exited).toBe(1);
      expect(child.stderr()).toMatch(message);
    }, 120_000);
  }
});
