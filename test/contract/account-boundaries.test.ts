import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseDigest, testBackends, type TestDatabase } from "../support/databases.js";
import { eventually } from "../support/delivery.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { specOperations, type SpecOperation } from "../support/spec.js";

/**
 * Every account boundary, generated from the spec (issue 12): each operation
 * with an id in its path is called with ANOTHER account's key on the first
 * account's real resources, and must answer 404 — or, on an account path
 * (Kazoo's /v1/accounts/{account_id}/…), the 403 the profile documents; admin
 * operations answer 401/403 to a tenant key — with the database unchanged.
 * A new operation is covered the day it enters the spec; one whose path ids
 * this file cannot fill fails the test by name.
 */
const ID_PARAM = /^(id|.+_id)$/;
/** Which resource a path's `{id}` names, by the path's prefix. */
const RESOURCE_OF_ID: Array<[RegExp, keyof Owned]> = [
  [/^\/v1\/hooks\/\{id\}/, "hook"],
  [/^\/v1\/events\/\{id\}/, "event"],
  [/^\/v1\/deliveries\/\{id\}/, "delivery"],
  [/^\/api\/hooks\/\{id\}/, "kuduHook"],
  [/^\/hooks\/\{id\}/, "hook"], // lopennaef's profile shows the same hooks
  [/^\/v1\/listen-sessions\/\{id\}/, "listenSession"],
];
/** Bodies for operations whose spec documents no request example: add an example to the spec instead where you can. */
const BODY_WITHOUT_EXAMPLE: Record<string, unknown> = {
  recoverHook: { since: "2026-01-01T00:00:00Z" },
};

interface Owned {
  account: string;
  hook: number;
  event: number;
  delivery: number;
  key: number;
  kuduHook: number;
  kazooHook: string;
  listenSession: number;
}

const idOperations = specOperations.filter((op) => pathParams(op.path).some((name) => ID_PARAM.test(name)));

function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
}

function exampleBody(op: SpecOperation): unknown {
  if (!op.requestBody) return undefined;
  const media = op.requestBody.content?.["application/json"];
  const schema = media?.schema as { example?: unknown } | undefined;
  const example = media?.example ?? Object.values(media?.examples ?? {})[0]?.value ?? schema?.example ?? BODY_WITHOUT_EXAMPLE[op.operationId];
  if (example === undefined && op.requestBody.required) throw new Error(`${op.operationId} (${op.method} ${op.path}) needs a body and the spec has no request example: add one to the spec`);
  return example;
}

const adminOnly = (op: SpecOperation) => op.security.every((requirement) => Object.keys(requirement).every((name) => name === "adminToken"));

/** The concrete requests for `op` against `owned`, each with the statuses another account's key may get. */
function boundaryRequests(op: SpecOperation, owned: Owned, strangerAccount: string): Array<{ path: string; expected: number[] }> {
  const fill = (accountId: string) =>
    op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      if (name === "account_id") return accountId;
      if (name === "key_id") return String(owned.key);
      if (name === "webhook_id") return owned.kazooHook;
      const resource = RESOURCE_OF_ID.find(([prefix]) => prefix.test(op.path))?.[1];
      if (name === "id" && resource) return String(owned[resource]);
      throw new Error(`${op.operationId} (${op.method} ${op.path}): no way to fill {${name}} with the first account's resource; teach account-boundaries.test.ts`);
    });
  if (adminOnly(op)) return [{ path: fill(owned.account), expected: [401, 403] }];
  if (!op.path.includes("{account_id}")) return [{ path: fill(owned.account), expected: [404] }];
  // An account path: the other account's id is refused as the profile documents;
  // the stranger's own account id with the owner's resource is not found.
  const requests = [{ path: fill(owned.account), expected: op.responses["403"] ? [403] : [404] }];
  if (pathParams(op.path).length > 1) requests.push({ path: fill(strangerAccount), expected: [404] });
  return requests;
}

describe.each(testBackends())("every account boundary in the spec ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let owner: ReturnType<typeof specClient>;
  let stranger: ReturnType<typeof specClient>;
  /** The same stranger with HTTP Basic: on `/hooks/{id}` that reaches early Kudu's handlers, not lopennaef's. */
  let strangerBasic: ReturnType<typeof specClient>;
  let strangerAccount: string;
  let owned: Owned;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    const first = await server.newAccount("owner");
    const second = await server.newAccount("stranger");
    strangerAccount = second.id;
    owner = specClient(server.url, { authorization: `Bearer ${first.key}` });
    stranger = specClient(server.url, { authorization: `Bearer ${second.key}` });
    strangerBasic = specClient(server.url, { authorization: `Basic ${Buffer.from(`stranger:${second.key}`).toString("base64")}` });
    // No worker: the delivery stays pending.
    const hook = await owner.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/owner", events: ["*"] } });
    const event = await owner.call("POST", "/v1/events", { body: { type: "build:done", data: { n: 1 } } });
    const delivery = (await owner.call("GET", `/v1/events/${event.body.id}`)).body.deliveries[0].id;
    const key = await owner.call("POST", "/v1/keys", { body: { name: "owned" } });
    const kudu = await owner.call("POST", "/api/hooks", { body: { url: "http://127.0.0.1:9/kudu", event: "PostDeployment", insecure_ssl: false } });
    const kazoo = await owner.call("PUT", `/v1/accounts/${first.id}/webhooks`, { body: { data: { name: "calls", uri: "http://127.0.0.1:9/calls", http_verb: "post", hook: "channel_create" } } });
    const listen = await owner.call("POST", "/v1/listen-sessions", { body: { events: ["build:*"], forward_to: "http://localhost:3000/webhooks" } });
    expect(listen.status).toBe(201);
    owned = {
      account: first.id, hook: hook.body.id, event: event.body.id, delivery, key: key.body.id, kuduHook: kudu.body.id, kazooHook: String(kazoo.body.data.id),
      listenSession: listen.body.id,
    };
    // The stranger's key writes its last use once a minute: let that first
    // write land now, so it cannot show up in a digest below.
    await stranger.call("GET", "/v1/accounts/me");
    await eventually(async () => ((await database.store.db.selectFrom("api_keys").select("last_used_at").where("account_id", "=", second.id).executeTakeFirst())?.last_used_at ?? undefined));
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("finds the operations with ids in their paths, in every profile", () => {
    const ids = idOperations.map((op) => op.operationId);
    expect(ids).toEqual(expect.arrayContaining(["getHook", "getDelivery", "getEvent", "revokeOwnApiKey", "kuduGetHook", "lopennaefGetHook", "kazooGetWebhook"]));
  });

  it("refuses another account's key on every one of them and changes nothing", async () => {
    const refused: string[] = [];
    for (const op of idOperations) {
      const body = exampleBody(op);
      const clients = op.security.some((scheme) => "basicAuth" in scheme) ? [stranger, strangerBasic] : [stranger];
      for (const [client, { path, expected }] of clients.flatMap((client) => boundaryRequests(op, owned, strangerAccount).map((request) => [client, request] as const))) {
        const before = await databaseDigest(database.store);
        const response = await client.call(op.method, path, body === undefined ? {} : { body });
        const what = `${op.operationId}${client === strangerBasic ? " (Basic)" : ""}: ${op.method} ${path} → ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`;
        expect(expected, what).toContain(response.status);
        expect(await databaseDigest(database.store), `changed the database: ${what}`).toBe(before);
        refused.push(op.operationId);
      }
    }
    expect(new Set(refused).size).toBe(idOperations.length);
    // And the owner still has everything, as it was.
    expect((await owner.call("GET", `/v1/hooks/${owned.hook}`)).body.url).toBe("http://127.0.0.1:9/owner");
    expect((await owner.call("GET", `/v1/deliveries/${owned.delivery}`)).status).toBe(200);
    expect((await owner.call("GET", `/api/hooks/${owned.kuduHook}`)).status).toBe(200);
    expect((await owner.call("GET", `/v1/accounts/${owned.account}/webhooks/${owned.kazooHook}`)).status).toBe(200);
    expect((await owner.call("GET", "/v1/keys")).body.map((k: { id: number }) => k.id)).toContain(owned.key);
  }, 120_000);
});
