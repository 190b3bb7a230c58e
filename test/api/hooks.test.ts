import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient, type CheckedResponse } from "../support/spec-client.js";

const RECEIVER = "http://127.0.0.1:9/hook";

describe.each(testBackends())("hooks API on $kind", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let apiKey: string;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    apiKey = (await server.newAccount("alaudauser")).key;
    api = specClient(server.url, { authorization: `Bearer ${apiKey}` });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const countHooks = async () => Number((await sql<{ n: string }>`select count(*) as n from hooks`.execute(database.store.db)).rows[0]!.n);

  it("creates with defaults, a generated whsec_ secret and a Location header", async () => {
    const { status, headers, body } = await api.call("POST", "/v1/hooks", { body: { url: RECEIVER, events: ["build:complete"] } });
    expect(status).toBe(201);
    expect(headers.get("location")).toBe(`/v1/hooks/${body.id}`);
    expect(body).toMatchObject({ url: RECEIVER, events: ["build:complete"], is_active: true, http_verb: "post", retries: 5, insecure_ssl: false, failed: false, created_by: "alaudauser" });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const read = await api.call("GET", `/v1/hooks/${body.id}`);
    expect(read.body).not.toHaveProperty("secret");
    expect((await api.call("GET", `/v1/hooks/${body.id}/secret`)).body.secret).toBe(body.secret);
  });

  it("keeps Alauda's plain secret, replaces with PUT (secret kept when omitted) and patches one field", async () => {
    const created = await api.call("POST", "/v1/hooks", {
      body: { subject_type: "build_repo", subject: "alaudauser/docker_images_test", events: ["build:complete"], secret: "123456", url: RECEIVER, name: "test hook", custom_data: { a: 1 } },
    });
    const id = created.body.id;
    const replaced = await api.call("PUT", `/v1/hooks/${id}`, { body: { url: `${RECEIVER}/2`, events: ["*"] } });
    expect(replaced.body).toMatchObject({ url: `${RECEIVER}/2`, events: ["*"], name: null, subject: null, custom_data: null });
    expect((await api.call("GET", `/v1/hooks/${id}/secret`)).body.secret).toBe("123456");
    const patched = await api.call("PATCH", `/v1/hooks/${id}`, { body: { is_active: false } });
    expect(patched.body).toMatchObject({ is_active: false, url: `${RECEIVER}/2` });
    expect(Date.parse(patched.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.body.updated_at));
  });

  it("rotates the secret, keeping the previous one during the grace period", async () => {
    const { body } = await api.call("POST", "/v1/hooks", { body: { url: RECEIVER, events: ["*"], secret: "first-secret" } });
    const rotated = await api.call("POST", `/v1/hooks/${body.id}/secret/rotate`, { body: {} });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.previous_secret).toBe("first-secret");
    expect(Date.parse(rotated.body.previous_secret_expires_at)).toBeGreaterThan(Date.now() + 23 * 3600_000);
  });

  it.each([
    [{ events: ["*"] }, "body.url"],
    [{ url: RECEIVER }, "body.events"],
    [{ url: RECEIVER, events: [] }, "body.events"],
    [{ url: "ftp://example.com/x", events: ["*"] }, "body.url"],
    [{ url: "not a url", events: ["*"] }, "body.url"],
    [{ url: "http://user:pass@example.com/x", events: ["*"] }, "body.url"],
    [{ url: "http://example.com:0/", events: ["*"] }, "body.url"],
    [{ url: "https://127.0.0.1:00/x", events: ["*"] }, "body.url"],
    [{ url: `http://example.com/${"a".repeat(2048)}`, events: ["*"] }, "body.url"],
    [{ url: RECEIVER, events: ["bad event!"] }, "body.events.0"],
    [{ url: RECEIVER, events: ["*"], retries: 21 }, "body.retries"],
    [{ url: RECEIVER, events: ["*"], retries: -1 }, "body.retries"],
    [{ url: RECEIVER, events: ["*"], custom_data: [1] }, "body.custom_data"],
    [{ url: RECEIVER, events: ["*"], custom_data: { big: "x".repeat(9000) } }, "body.custom_data"],
    [{ url: RECEIVER, events: ["*"], http_verb: "put" }, "body.http_verb"],
    [{ url: RECEIVER, events: ["*"], secret: "whsec_%%%" }, "body.secret"],
    [{ url: RECEIVER, events: ["*"], secret: "whsec_AAAA" }, "body.secret"],
    [{ url: RECEIVER, events: ["*"], filter: { for_all: [] } }, "body.filter.for_all"],
    [{ url: RECEIVER, events: ["*"], unknown_field: 1 }, "body"],
  ])("refuses %j naming %s, and writes nothing", async (input, path) => {
    const before = await countHooks();
    const { status, body, headers } = await api.call("POST", "/v1/hooks", { body: input });
    expect(status).toBe(400);
    expect(headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await countHooks()).toBe(before);
  });

  it("accepts the event pattern forms *, all, prefix:* and exact types", async () => {
    const { status, body } = await api.call("POST", "/v1/hooks", { body: { url: RECEIVER, events: ["*", "all", "build:*", "channel_create", "PostDeployment"] } });
    expect(status, JSON.stringify(body)).toBe(201);
  });

  it("isolates accounts: another account's hook answers 404 to every operation", async () => {
    const { body } = await api.call("POST", "/v1/hooks", { body: { url: RECEIVER, events: ["*"] } });
    const other = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("other")).key}` });
    for (const [method, path, payload] of [
      ["GET", `/v1/hooks/${body.id}`],
      ["PUT", `/v1/hooks/${body.id}`, { url: RECEIVER, events: ["*"] }],
      ["PATCH", `/v1/hooks/${body.id}`, { name: "stolen" }],
      ["GET", `/v1/hooks/${body.id}/secret`],
      ["POST", `/v1/hooks/${body.id}/secret/rotate`, {}],
      ["DELETE", `/v1/hooks/${body.id}`],
    ] as const) {
      expect((await other.call(method, path, payload ? { body: payload } : {})).status, `${method} ${path}`).toBe(404);
    }
    expect((await other.call("GET", "/v1/hooks")).body.map((h: { id: number }) => h.id)).not.toContain(body.id);
    expect((await api.call("GET", `/v1/hooks/${body.id}`)).body.name).toBeNull();
  });

  it("pages with limit and Link rel=next, stably while hooks are created", async () => {
    const pager = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("pager")).key}` });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push((await pager.call("POST", "/v1/hooks", { body: { url: RECEIVER, events: ["*"], subject: i % 2 ? "odd" : "even" } })).body.id);
    const seen: number[] = [];
    let next: string | null = "/v1/hooks?limit=3";
    let pages = 0;
    while (next && pages < 10) {
      const page: CheckedResponse<{ id: number }[]> = await pager.call("GET", next);
      seen.push(...page.body.map((h) => h.id));
      if (pages === 0) ids.push((await pager.call("POST", "/v1/hooks", { body: { url: RECEIVER, events: ["*"] } })).body.id);
      next = /<([^>]+)>;\s*rel="next"/.exec(page.headers.get("link") ?? "")?.[1] ?? null;
      pages++;
    }
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    const odd = await pager.call("GET", "/v1/hooks?subject=odd");
    expect(odd.body).toHaveLength(3);
  });

  it("filters by event (including wildcards), subject_type and is_active", async () => {
    const filterer = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("filters")).key}` });
    const make = async (body: object) => (await filterer.call("POST", "/v1/hooks", { body: { url: RECEIVER, ...body } })).body.id;
    const exact = await make({ events: ["build:complete"], subject_type: "build_repo" });
    const prefix = await make({ events: ["build:*"], is_active: false });
    const all = await make({ events: ["all"] });
    await make({ events: ["channel_create"] });
    const ids = async (query: string) => (await filterer.call("GET", `/v1/hooks?${query}`)).body.map((h: { id: number }) => h.id);
    expect(await ids("event=build:complete")).toEqual([exact, prefix, all]);
    expect(await ids("subject_type=build_repo")).toEqual([exact]);
    expect(await ids("event=build:complete&is_active=false")).toEqual([prefix]);
  });

  it("deletes with 204, then answers 404", async () => {
    const { body } = await api.call("POST", "/v1/hooks", { body: { url: RECEIVER, events: ["*"] } });
    expect((await api.call("DELETE", `/v1/hooks/${body.id}`)).status).toBe(204);
    expect((await api.call("DELETE", `/v1/hooks/${body.id}`)).status).toBe(404);
  });

  it("refuses loopback, private, link-local and metadata targets unless private targets are allowed", async () => {
    const strict = await startTestServer(database, { HOOKLINE_ALLOW_PRIVATE_TARGETS: "false" });
    try {
      const client = specClient(strict.url, { authorization: `Bearer ${apiKey}` });
      for (const url of ["http://127.0.0.1/x", "http://localhost:8080/x", "http://10.0.0.1/", "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://192.168.1.1/", "http://0x7f000001/", "http://[::ffff:127.0.0.1]/"]) {
        const { status, body } = await client.call("POST", "/v1/hooks", { body: { url, events: ["*"] } });
        expect(status, url).toBe(400);
        expect(body.errors[0].path).toBe("body.url");
      }
      expect((await client.call("POST", "/v1/hooks", { body: { url: "https://hooks.example.com/x", events: ["*"] } })).status).toBe(201);
    } finally {
      await strict.close();
    }
  });

  it("stores API keys hashed: the raw key is nowhere in the database", async () => {
    const dump = await sql<{ row: string }>`select row_to_json(k)::text as row from api_keys k`.execute(database.store.db);
    const everything = dump.rows.map((r) => r.row).join("\n");
    expect(everything).toContain(apiKey.slice(0, 8));
    expect(everything).not.toContain(apiKey);
    expect(everything).not.toContain(apiKey.slice(8));
  });
});
