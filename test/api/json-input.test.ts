import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseDigest, testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * The input rules every operation shares (issue 15 items 1, 2, 8): text
 * PostgreSQL cannot store and JSON nested too deep are a 400 naming the
 * field, in bodies, query strings and paths, on /v1 and the profiles, with
 * nothing written; so is a body that is not valid UTF-8; Hookline's own event
 * types cannot be published.
 */
const MAX_DEPTH = 64;
const nested = (levels: number) => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);

describe.each(testBackends())("shared JSON input rules ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let key: string;
  const json = { "content-type": "application/json" };
  const basic = () => `Basic ${Buffer.from(`deployer:${key}`).toString("base64")}`;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    key = (await server.newAccount("input")).key;
    api = specClient(server.url, { authorization: `Bearer ${key}` });
    expect((await api.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/in", events: ["*"] } })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const counts = async () =>
    (await sql<{ n: string }>`select (select count(*) from events) + (select count(*) from deliveries) + (select count(*) from hooks) as n`.execute(database.store.db)).rows[0]!.n;

  async function refused(method: string, path: string, rawBody: string | undefined, field: string, headers: Record<string, string> = {}) {
    const before = await counts();
    const answer = await api.call(method, path, { rawBody, headers: { ...(rawBody !== undefined ? json : {}), ...headers } });
    expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(400);
    const fields = answer.body.errors?.map((e: { path: string }) => e.path) ?? Object.keys(answer.body.data ?? {});
    expect(fields.join(" "), JSON.stringify(answer.body)).toContain(field);
    expect(await counts()).toBe(before);
    return answer;
  }

  it("refuses U+0000 and unpaired surrogates in any JSON string or key, naming the JSON path", async () => {
    await refused("POST", "/v1/events", '{"type":"x.y","data":{"s":"a\\u0000b"}}', "body.data.s");
    await refused("POST", "/v1/events", '{"type":"x.y","data":{"list":[1,{"t":"\\ud800"}]}}', "body.data.list.1.t");
    await refused("POST", "/v1/events", '{"type":"x.y","data":{"lone\\udc00":1}}', "body.data.lone");
    await refused("POST", "/v1/hooks", '{"url":"http://127.0.0.1:9/x","events":["*"],"name":"a\\u0000"}', "body.name");
    await refused("POST", "/v1/hooks", '{"url":"http://127.0.0.1:9/x","events":["*"],"custom_data":{"k":"\\ud83d"}}', "body.custom_data.k");
    await refused("POST", "/api/hooks/publish/PostDeployment", '{"id":"\\u0000"}', "body.id", { authorization: basic() });
  });

  it("refuses them in query strings and path segments too", async () => {
    await refused("GET", "/v1/hooks?subject=a%00b", undefined, "query.subject");
    await refused("GET", "/v1/hooks?event=%00", undefined, "query.event");
    await refused("POST", "/api/hooks/publish/a%00b", "{}", "path", { authorization: basic() });
  });

  it(`takes ${MAX_DEPTH} levels of nesting and refuses ${MAX_DEPTH + 1} and 10,000 with a 400, not a stack overflow`, async () => {
    const fits = await api.call("POST", "/v1/events", { rawBody: `{"type":"x.y","data":${nested(MAX_DEPTH - 1)}}`, headers: json });
    expect(fits.status, JSON.stringify(fits.body)).toBe(202);
    const tooDeep = await refused("POST", "/v1/events", `{"type":"x.y","data":${nested(MAX_DEPTH)}}`, "body.data.a");
    expect(tooDeep.body.detail).toContain(String(MAX_DEPTH));
    for (const levels of [10_000, 40_000]) {
      await refused("POST", "/v1/events", `{"type":"x.y","data":${nested(levels)}}`, "body.data");
      await refused("POST", "/v1/hooks", `{"url":"http://127.0.0.1:9/x","events":["*"],"custom_data":${nested(levels)}}`, "body.custom_data");
      await refused("POST", "/v1/events", "[".repeat(levels) + "]".repeat(levels), "body");
      await refused("POST", "/api/hooks/publish/PostDeployment", nested(levels), "body.a", { authorization: basic() });
    }
  });

  it("refuses to publish the types Hookline sends itself, on /v1 and Kudu's publish path", async () => {
    for (const type of ["ping", "PING", "hook.disabled", "delivery.exhausted", "hookline.anything"]) {
      await refused("POST", "/v1/events", JSON.stringify({ type, data: { hook_id: 4 } }), "body.type");
    }
    await refused("POST", "/api/hooks/publish/ping", "{}", "path.hookType", { authorization: basic() });
    // Near misses are ordinary types.
    for (const type of ["pinged", "hooks.created", "deliveryman.arrived"]) {
      expect((await api.call("POST", "/v1/events", { body: { type, data: {} } })).status).toBe(202);
    }
  });

  it("refuses a body that is not valid UTF-8 with a 400 saying so, before parsing, on /v1 and every profile, writing nothing", async () => {
    // 0xFF 0xFE inside a JSON string: decoded, they would become U+FFFD and be stored changed.
    const withBadBytes = (before: string, after: string) => Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
    const cases: Array<[string, string, Record<string, string>, Buffer]> = [
      ["POST", "/v1/events", {}, withBadBytes('{"type":"x.y","data":{"s":"a', 'b"}}')],
      ["POST", "/v1/hooks", {}, withBadBytes('{"url":"http://127.0.0.1:9/u","events":["*"],"name":"', '"}')],
      ["PATCH", "/v1/hooks/1", {}, withBadBytes('{"custom_data":{"k":"', '"}}')],
      ["POST", "/api/hooks/publish/PostDeployment", { authorization: basic() }, withBadBytes('{"id":"', '"}')],
      ["POST", "/hooks", {}, withBadBytes('{"callback_url":"http://127.0.0.1:9/', '"}')],
      ["PUT", "/v1/accounts/x/webhooks", {}, withBadBytes('{"data":{"uri":"http://127.0.0.1:9/k","hook":"all","name":"', '"}}')],
    ];
    for (const [method, path, headers, body] of cases) {
      for (const chunked of [false, true]) {
        const before = await databaseDigest(database.store);
        // A stream has no Content-Length: the body then comes through the chunked reader.
        const sent = chunked ? new Blob([new Uint8Array(body)]).stream() : body;
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...json, ...headers },
          body: sent,
          ...(chunked ? { duplex: "half" } : {}),
        } as RequestInit);
        const text = await response.text();
        expect(response.status, `${method} ${path}${chunked ? " (chunked)" : ""}: ${text}`).toBe(400);
        expect(text, `${method} ${path}`).toContain("not valid UTF-8");
        expect(await databaseDigest(database.store), `${method} ${path}`).toBe(before);
      }
    }
    // ÿþ as valid UTF-8 is ordinary text.
    const ok = await fetch(`${server.url}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${key}`, ...json }, body: '{"type":"x.y","data":{"s":"aÿþb"}}' });
    expect(ok.status).toBe(202);
  });
});
