import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../../test/support/databases.js";
import { startMisbehavingProxy, type MisbehavingProxy, type ProxyAction } from "../../test/support/misbehaving-proxy.js";
import { startTestServer, type TestServer } from "../../test/support/server.js";
import { HooklineApiError } from "./api-error.js";
import { createClient, type HooklineClient } from "./client.js";
import { paginate } from "./paginate.js";

/**
 * The SDK against a live Hookline behind a proxy on loopback that misbehaves
 * the way load balancers and networks do (issue 16): answers lost after the
 * server acted, empty and HTML error pages, truncated JSON, odd `Link`
 * headers. `direct` reads the truth from the server, past the proxy.
 */
const fast = { minTimeout: 10, maxTimeout: 20 };
const forward: ProxyAction = { kind: "forward" };
/** The first request matching `method` and `path` gets `action`; the rest are forwarded. */
const firstOnly = (method: string, path: RegExp, action: ProxyAction) => {
  let used = false;
  return (r: { method: string; path: string }) => {
    if (used || r.method !== method || !path.test(r.path)) return forward;
    used = true;
    return action;
  };
};

describe.each(testBackends())("the SDK through a misbehaving proxy, against a live server on $kind", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let proxy: MisbehavingProxy;
  let hookline: HooklineClient;
  let direct: HooklineClient;
  let apiKey: string;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    proxy = await startMisbehavingProxy(server.url);
    apiKey = (await server.newAccount()).key;
    hookline = createClient({ baseUrl: proxy.url, apiKey, retry: fast });
    direct = createClient({ baseUrl: server.url, apiKey, retry: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
    await database?.dispose();
  });
  beforeEach(() => {
    proxy.plan = () => forward;
    proxy.seen.length = 0;
  });

  const setEventSequence = (value: number) =>
    database.store.db.selectNoFrom((eb) => eb.fn("setval", [eb.val("events_id_seq"), eb.val(value)]).as("v")).execute();

  const hooksAt = async (url: string) => {
    const found = [];
    for await (const hook of paginate(direct, "/v1/hooks")) if (hook.url === url) found.push(hook);
    return found;
  };

  it("a create whose answer is lost after the server acted makes one hook, answered by the replay (16.1)", async () => {
    proxy.plan = firstOnly("POST", /^\/v1\/hooks$/, { kind: "drop-after-forward" });
    const url = "http://127.0.0.1:9/lost-create";
    const { data, error, response } = await hookline.POST("/v1/hooks", { body: { url, events: ["*"] } });
    expect(error).toBeUndefined();
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe(`/v1/hooks/${data!.id}`);
    expect(proxy.seen.map((r) => [r.upstreamStatus, r.replayed])).toEqual([[201, false], [201, true]]);
    expect(proxy.seen[1]!.idempotencyKey).toBe(proxy.seen[0]!.idempotencyKey);
    expect((await hooksAt(url)).map((h) => h.id)).toEqual([data!.id]);
  });

  it("a delete whose answer is lost reports the first answer, 204, not 404 (16.2)", async () => {
    const { data: hook } = await direct.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/lost-delete", events: ["*"] } });
    proxy.plan = firstOnly("DELETE", /^\/v1\/hooks\//, { kind: "drop-after-forward" });
    const { error, response } = await hookline.DELETE("/v1/hooks/{id}", { params: { path: { id: hook!.id } } });
    expect(error).toBeUndefined();
    expect(response.status).toBe(204);
    expect(proxy.seen).toHaveLength(2);
    expect((await direct.GET("/v1/hooks/{id}", { params: { path: { id: hook!.id } } })).response.status).toBe(404);
  });

  it("a profile's DELETE (no key there) whose answer is lost is not resent into a false 404: the caller gets the network error (16.2)", async () => {
    const kazooAccount = (await direct.GET("/v1/accounts/me")).data!.id;
    const kudu = await direct.POST("/api/hooks", { body: { url: "http://127.0.0.1:9/lost-kudu-delete", event: "PostDeployment" } });
    const lopennaef = await direct.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/lost-lopennaef-delete", events: ["*"] } });
    const kazoo = await direct.PUT("/v1/accounts/{account_id}/webhooks", {
      params: { path: { account_id: kazooAccount } },
      body: { data: { name: "lost", uri: "http://127.0.0.1:9/lost-kazoo-delete", hook: "all" } },
    });
    const deletes: Array<[RegExp, () => Promise<{ response: Response }>]> = [
      [/^\/api\/hooks\//, () => hookline.DELETE("/api/hooks/{id}", { params: { path: { id: kudu.data!.id } } })],
      [/^\/hooks\//, () => hookline.DELETE("/hooks/{id}", { params: { path: { id: lopennaef.data!.id } } })],
      [/\/webhooks\//, () => hookline.DELETE("/v1/accounts/{account_id}/webhooks/{webhook_id}", { params: { path: { account_id: kazooAccount, webhook_id: Number(kazoo.data!.data.id) } } })],
    ];
    for (const [path, remove] of deletes) {
      proxy.seen.length = 0;
      proxy.plan = firstOnly("DELETE", path, { kind: "drop-after-forward" });
      await expect(remove(), String(path)).rejects.toThrow(TypeError);
      expect(proxy.seen.map((r) => r.upstreamStatus), String(path)).toEqual([expect.any(Number)]);
      expect(proxy.seen[0]!.upstreamStatus, String(path)).toBeLessThan(300);
    }
  });

  it("a patch and a publish whose answers are lost are done once", async () => {
    const { data: hook } = await direct.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/lost-publish", events: ["lost:publish"] } });
    proxy.plan = firstOnly("PATCH", /^\/v1\/hooks\//, { kind: "drop-after-forward" });
    const patched = await hookline.PATCH("/v1/hooks/{id}", { params: { path: { id: hook!.id } }, body: { name: "renamed" } });
    expect(patched.data?.name).toBe("renamed");

    proxy.plan = firstOnly("POST", /^\/v1\/events$/, { kind: "drop-after-forward" });
    const published = await hookline.POST("/v1/events", { body: { type: "lost:publish", data: { n: 1 } } });
    expect(published.response.status).toBe(202);
    expect(proxy.seen.filter((r) => r.method === "POST").map((r) => r.replayed)).toEqual([false, true]);
    const deliveries = [];
    for await (const d of paginate(direct, "/v1/hooks/{id}/deliveries", { params: { path: { id: hook!.id } } })) deliveries.push(d);
    expect(deliveries.map((d) => d.event_id)).toEqual([published.data!.id]);
  });

  it("the same key with another body is a typed 422; a new key is a new request", async () => {
    const headers = { "Idempotency-Key": "reused-key" };
    const first = await hookline.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/k1", events: ["*"] }, headers });
    expect(first.response.status).toBe(201);
    const again = await hookline.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/k1", events: ["*"] }, headers });
    expect(again.data?.id).toBe(first.data!.id);
    const other = await hookline.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/k2", events: ["*"] }, headers });
    expect(other.data).toBeUndefined();
    expect(other.error).toMatchObject({ status: 422, type: "https://hookline.dev/problems/idempotency-mismatch" });
    // Another path under the same key is another request too.
    const elsewhere = await hookline.POST("/v1/events", { body: { type: "x:y", data: {} }, headers });
    expect(elsewhere.error?.status).toBe(422);
  });

  it("a duplicate while the first request runs gets 409 with Retry-After; afterwards the first answer", async () => {
    // The first create pings (verify) a receiver that holds its answer until released.
    let release!: () => void;
    let pinged!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const pingArrived = new Promise<void>((resolve) => (pinged = resolve));
    const receiver = await listen((res) => {
      pinged();
      void released.then(() => res.writeHead(204).end());
    });
    try {
      const body = { url: `${receiver.url}/slow`, events: ["*"], verify: true };
      const headers = { "Idempotency-Key": "slow-create" };
      const first = hookline.POST("/v1/hooks", { body, headers });
      await pingArrived;
      const duplicate = await createClient({ baseUrl: proxy.url, apiKey, retry: false }).POST("/v1/hooks", { body, headers });
      expect(duplicate.error).toMatchObject({ status: 409, type: "https://hookline.dev/problems/idempotency-in-progress" });
      expect(duplicate.response.headers.get("retry-after")).toBe("1");
      release();
      const answered = await first;
      expect(answered.response.status).toBe(201);
      const later = await hookline.POST("/v1/hooks", { body, headers });
      expect(later.data?.id).toBe(answered.data!.id);
      expect(later.response.headers.get("idempotent-replayed")).toBe("true");
    } finally {
      release();
      await receiver.close();
    }
  });

  it("an empty 503 from the proxy, after the retries, is a problem with the status, never both undefined (16.3)", async () => {
    proxy.plan = () => ({ kind: "answer", status: 503 });
    const { data, error } = await hookline.GET("/v1/hooks");
    expect(data).toBeUndefined();
    expect(error).toMatchObject({ type: "about:blank", status: 503 });
    expect(error?.detail).toMatch(/empty body/);
    expect(proxy.seen).toHaveLength(3);
  });

  it("an HTML 502 and a truncated JSON error are problems with their status", async () => {
    proxy.plan = () => ({ kind: "answer", status: 502, headers: { "content-type": "text/html" }, body: "<html><body>Bad Gateway</body></html>" });
    const html = await createClient({ baseUrl: proxy.url, apiKey, retry: false }).GET("/v1/hooks/{id}", { params: { path: { id: 1 } } });
    expect(html.error).toMatchObject({ type: "about:blank", status: 502 });
    expect(html.error?.detail).toMatch(/text\/html/);

    proxy.plan = () => ({ kind: "rewrite", rewrite: (a) => ({ ...a, body: a.body.slice(0, 20) }) });
    const cut = await hookline.GET("/v1/hooks/{id}", { params: { path: { id: 2_000_000_000 } } });
    expect(cut.error).toMatchObject({ type: "about:blank", status: 404 });
  });

  it("a gateway's own JSON error, an empty or text 200 and a JSON null are problems with a status, never both undefined nor a throw (16.3)", async () => {
    const once = createClient({ baseUrl: proxy.url, apiKey, retry: false });
    proxy.plan = () => ({ kind: "answer", status: 502, headers: { "content-type": "application/json" }, body: '{"message":"Internal server error"}' });
    const gateway = await hookline.GET("/v1/hooks");
    expect(gateway.error).toMatchObject({ type: "about:blank", status: 502 });
    expect(gateway.error?.detail).toContain("Internal server error");
    expect(proxy.seen).toHaveLength(3);
    proxy.plan = () => ({ kind: "answer", status: 403, headers: { "content-type": "application/json" }, body: '{"message":"Forbidden"}' });
    expect((await once.GET("/v1/hooks")).error).toMatchObject({ type: "about:blank", status: 403, title: expect.any(String) });
    // RFC 9457 makes every member optional (an absent type means about:blank): a problem without one is the server's own answer, passed on as it came.
    const untyped = { title: "Service Unavailable", status: 503, detail: "Hookline is stopping; reconnect in a moment." };
    proxy.plan = () => ({ kind: "answer", status: 503, headers: { "content-type": "application/json" }, body: JSON.stringify(untyped) });
    expect((await once.GET("/v1/hooks")).error).toEqual(untyped);

    const answers: Array<[Record<string, string>, string]> = [
      [{}, ""],
      [{ "content-type": "text/plain" }, "OK"],
      [{ "content-type": "application/json" }, "null"],
      [{ "content-type": "application/json" }, '"ok"'],
    ];
    for (const [headers, body] of answers) {
      proxy.plan = () => ({ kind: "answer", status: 200, headers, body });
      const { data, error } = await once.GET("/v1/hooks/{id}", { params: { path: { id: 1 } } });
      expect(data, `${JSON.stringify(headers)} ${body}`).toBeUndefined();
      expect(error, `${JSON.stringify(headers)} ${body}`).toMatchObject({ type: "about:blank", status: 502, detail: expect.stringMatching(/^HTTP 200 came with/) });
    }
  });

  it("answers documented without a body (Kudu's delete) and Kazoo's error envelope still reach the caller as they are", async () => {
    proxy.plan = () => forward;
    const once = createClient({ baseUrl: proxy.url, apiKey, retry: false });
    const created = await direct.POST("/api/hooks", { body: { url: "http://127.0.0.1:9/kudu-typed", event: "PostDeployment" } });
    expect(created.error).toBeUndefined();
    const removed = await once.DELETE("/api/hooks/{id}", { params: { path: { id: created.data!.id } } });
    expect(removed.response.status).toBe(200);
    expect(removed.error).toBeUndefined();
    const account = (await direct.GET("/v1/accounts/me")).data!.id;
    const missing = await once.GET("/v1/accounts/{account_id}/webhooks/{webhook_id}", { params: { path: { account_id: account, webhook_id: 2_000_000_000 } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ status: "error", error: "404" });
  });

  it("a truncated or cut-off 200 is retried, and without retries is a 502 problem, not a throw", async () => {
    const { data: hook } = await direct.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/truncated", events: ["*"] } });
    const get = (client: HooklineClient) => client.GET("/v1/hooks/{id}", { params: { path: { id: hook!.id } } });
    const truncate: ProxyAction = { kind: "rewrite", rewrite: (a) => ({ ...a, body: a.body.slice(0, a.body.length - 5) }) };
    proxy.plan = firstOnly("GET", /^\/v1\/hooks\//, truncate);
    expect((await get(hookline)).data?.id).toBe(hook!.id);
    expect(proxy.seen).toHaveLength(2);

    const once = createClient({ baseUrl: proxy.url, apiKey, retry: false });
    proxy.plan = () => truncate;
    const truncated = await get(once);
    expect(truncated.data).toBeUndefined();
    expect(truncated.error).toMatchObject({ status: 502, type: "about:blank" });
    expect(truncated.error?.detail).toMatch(/HTTP 200 .*not readable JSON/);
    proxy.plan = () => ({ kind: "cut-body" });
    const cutOff = await get(once);
    expect(cutOff.error).toMatchObject({ status: 502 });
    expect(cutOff.error?.detail).toMatch(/cut off/);
  });

  it("paginate reads Link headers by RFC 8288 (quoted commas, parameter order, case) and fails on an unreadable one (16.4)", async () => {
    for (let i = 0; i < 5; i++) await direct.POST("/v1/hooks", { body: { url: `http://127.0.0.1:9/page/${i}`, events: ["*"] } });
    const all: number[] = [];
    for await (const hook of paginate(direct, "/v1/hooks")) all.push(hook.id);
    const odd = (link: string) => link.replace(/<([^>]*)>; rel="next"/, '<$1>; title="page, two"; REL="Next"');
    proxy.plan = () => ({ kind: "rewrite", rewrite: (a) => (a.headers.link ? { ...a, headers: { ...a.headers, link: odd(a.headers.link) } } : a) });
    const walked: number[] = [];
    for await (const hook of paginate(hookline, "/v1/hooks", { params: { query: { limit: 2 } } })) walked.push(hook.id);
    expect(walked).toEqual(all);
    expect(proxy.seen.length).toBeGreaterThan(2);

    proxy.plan = () => ({ kind: "rewrite", rewrite: (a) => ({ ...a, headers: { ...a.headers, link: '</v1/hooks?after=2; rel="next"' } }) });
    const walk = async () => {
      for await (const _ of paginate(hookline, "/v1/hooks", { params: { query: { limit: 2 } } })) void _;
    };
    await expect(walk()).rejects.toBeInstanceOf(HooklineApiError);
    await expect(walk()).rejects.toThrow(/Unreadable Link header/);
  });

  it("ids stop at 2^53 - 1 with a clear error, and every id up to it comes back exact (16.6)", async () => {
    const beyond = await hookline.GET("/v1/events/{id}", { params: { path: { id: 2 ** 53 } } });
    expect(beyond.error?.status).toBe(400);
    expect(beyond.error?.errors?.map((e) => e.path)).toContain("path.id");
    await setEventSequence(Number.MAX_SAFE_INTEGER - 1);
    try {
      const last = await hookline.POST("/v1/events", { body: { type: "ids:edge", data: {} } });
      expect(last.data?.id).toBe(Number.MAX_SAFE_INTEGER);
      const read = await hookline.GET("/v1/events/{id}", { params: { path: { id: Number.MAX_SAFE_INTEGER } } });
      expect(read.data?.id).toBe(Number.MAX_SAFE_INTEGER);
      const past = await hookline.POST("/v1/events", { body: { type: "ids:edge", data: {} } });
      expect(past.error?.status).toBe(500);
      expect(past.error?.detail).toMatch(/9007199254740991/);
      const stored = await database.store.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("type", "=", "ids:edge").executeTakeFirstOrThrow();
      expect(Number(stored.n)).toBe(1);
    } finally {
      await setEventSequence(1_000_000);
    }
  });
});

/** A receiver on 127.0.0.1 that hands each request's response to `onRequest`. */
async function listen(onRequest: (res: ServerResponse) => void) {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => onRequest(res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
