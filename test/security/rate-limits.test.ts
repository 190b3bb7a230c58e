import { createClient } from "@hookline/sdk";
import { createLogger, loadConfig, startHookline, type RunningHookline } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from "../support/server.js";

// Limits are independent of the store: one backend (PGlite) is enough.
const LIMIT = 5;
const FAILED_AUTH_LIMIT = 3;
/** The publish budget: its own, above the general one (issue 20). */
const PUBLISH_LIMIT = 8;
/** Seconds: long enough that a burst started at a window's start ends inside it on a loaded machine (1 s did not). */
const WINDOW = 4;

describe("API rate limits", () => {
  let database: TestDatabase;
  let server: TestServer;
  let key1: string;
  let key2: string;
  let key3: string;

  beforeAll(async () => {
    database = await testBackends()[0]!.create();
    server = await startTestServer(database, {
      HOOKLINE_RATE_LIMIT_REQUESTS: String(LIMIT),
      HOOKLINE_RATE_LIMIT_PUBLISH_REQUESTS: String(PUBLISH_LIMIT),
      HOOKLINE_RATE_LIMIT_FAILED_AUTH: String(FAILED_AUTH_LIMIT),
      HOOKLINE_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW),
    });
    key1 = (await server.newAccount("one")).key;
    key2 = (await server.newAccount("two")).key;
    key3 = (await server.newAccount("three")).key;
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const get = (key: string, path = "/v1/hooks") => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });

  /** Waits (bounded) for the start of a fresh window, so a burst is not split across two. */
  async function freshWindow(key: string): Promise<void> {
    const deadline = Date.now() + 3 * WINDOW * 1000;
    for (;;) {
      const res = await get(key);
      const reset = Number(/;t=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1]);
      await res.body?.cancel();
      if (res.status === 429) await new Promise((r) => setTimeout(r, Number(res.headers.get("retry-after")) * 1000));
      else if (reset >= 1) return await new Promise((r) => setTimeout(r, reset * 1000 + 20));
      if (Date.now() > deadline) throw new Error("no fresh window");
    }
  }

  it("answers a burst past a key's limit with 429, Retry-After and the RateLimit headers, recovers after the window, and leaves another key alone", async () => {
    await freshWindow(key1);
    // In parallel, so the burst lands in one window even on a loaded machine.
    const burst = await Promise.all(Array.from({ length: LIMIT + 2 }, () => get(key1)));
    const statuses = burst.map((res) => res.status).sort();
    const limited = burst.find((res) => res.status === 429);
    for (const res of burst.filter((r) => r.status === 200)) {
      expect(res.headers.get("ratelimit-policy")).toBe(`"per-key";q=${LIMIT};w=${WINDOW}`);
      expect(res.headers.get("ratelimit")).toMatch(/^"per-key";r=\d+;t=\d+$/);
      await res.body?.cancel();
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    expect(limited!.headers.get("content-type")).toBe("application/problem+json");
    expect(limited!.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(limited!.headers.get("ratelimit")).toMatch(/^"per-key";r=0;t=\d+$/);
    expect(limited!.headers.get("ratelimit-policy")).toBe(`"per-key";q=${LIMIT};w=${WINDOW}`);
    const problem = (await limited!.json()) as { type: string; status: number };
    expect(problem).toMatchObject({ type: "https://hookline.dev/problems/too-many-requests", status: 429 });

    // Another key, same address, same moment: unaffected.
    expect((await get(key2)).status).toBe(200);

    // After Retry-After the key is admitted again.
    await new Promise((r) => setTimeout(r, Number(limited!.headers.get("retry-after")) * 1000 + 50));
    expect((await get(key1)).status).toBe(200);
  });

  it("gives publishing its own budget: publishes go on past the general limit up to theirs, and each budget answers 429 past its own bound", async () => {
    const publish = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key3}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const single = () => publish("/v1/events", { type: "rate.test", data: { n: 1 } });
    // Every publish path spends the publish budget: single, batch, and Kudu's three.
    const publishes = () => [
      single(),
      single(),
      single(),
      single(),
      publish("/v1/events/batch", { events: [{ type: "rate.test", data: { n: 2 } }] }),
      publish("/api/hooks/publish/rate.test", { n: 3 }),
      publish("/api/hooks/hooks/publish/rate.test", { n: 4 }),
      publish("/hooks/publish/rate.test", { n: 5 }),
    ];
    for (let round = 0; ; round++) {
      await freshWindow(key3);
      // The general budget spent…
      const gets = await Promise.all(Array.from({ length: LIMIT }, () => get(key3)));
      await Promise.all(gets.map((res) => res.body?.cancel()));
      const getStatuses = gets.map((res) => res.status).sort();
      // …publishing still goes on, to its own bound and not one past it.
      const published = await Promise.all([...publishes(), single()]);
      const lastGet = await get(key3);
      await lastGet.body?.cancel();
      // A window that rolled over mid-burst on a loaded machine: try again (bounded).
      if (round < 3 && lastGet.status !== 429) {
        await Promise.all(published.map((res) => res.body?.cancel()));
        continue;
      }
      expect(getStatuses).toEqual(Array(LIMIT).fill(200));
      expect(lastGet.status).toBe(429);
      expect(lastGet.headers.get("ratelimit-policy")).toBe(`"per-key";q=${LIMIT};w=${WINDOW}`);
      const statuses = published.map((res) => res.status);
      expect(statuses.filter((s) => s === 429)).toHaveLength(1);
      expect(statuses.filter((s) => s === 202 || s === 200)).toHaveLength(PUBLISH_LIMIT);
      for (const res of published) expect(res.headers.get("ratelimit-policy")).toBe(`"publish";q=${PUBLISH_LIMIT};w=${WINDOW}`);
      const limited = published.find((res) => res.status === 429)!;
      expect(limited.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
      expect(limited.headers.get("ratelimit")).toMatch(/^"publish";r=0;t=\d+$/);
      await Promise.all(published.map((res) => res.body?.cancel()));
      return;
    }
  });

  it("limits failed authentication per client address, before any key lookup", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < FAILED_AUTH_LIMIT + 1; i++) {
      const res = await get(`wrong-key-${i}`);
      statuses.push(res.status);
      if (res.status === 401) expect(res.headers.get("ratelimit")).toMatch(/^"failed-auth";r=\d+;t=\d+$/);
      await res.body?.cancel();
    }
    expect(statuses).toEqual([...Array(FAILED_AUTH_LIMIT).fill(401), 429]);
    // Kazoo's paths answer it in Kazoo's envelope, with the same headers.
    const kazoo = await fetch(`${server.url}/v1/accounts/x/webhooks`, { headers: { "x-auth-token": "wrong" } });
    expect(kazoo.status).toBe(429);
    expect(kazoo.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await kazoo.json()).toMatchObject({ status: "error", error: "429" });
    await new Promise((r) => setTimeout(r, Number(kazoo.headers.get("retry-after")) * 1000 + 50));
    expect((await get(key2)).status).toBe(200);
  });

  it("the SDK's retry waits out Retry-After and gets the answer", async () => {
    const seen: Array<{ status: number; at: number; retryAfter: string | null }> = [];
    const hookline = createClient({
      baseUrl: server.url,
      apiKey: key1,
      retry: { retries: 3, minTimeout: 1, maxTimeout: 1 },
      fetch: async (request, init) => {
        const res = await fetch(request, init);
        seen.push({ status: res.status, at: Date.now(), retryAfter: res.headers.get("retry-after") });
        return res;
      },
    });
    // Spend the key's window, then call through the SDK at once; if the window
    // rolled over in between (a loaded machine), spend the next one (bounded).
    for (let round = 0; round < 5 && !seen.some((s) => s.status === 429); round++) {
      seen.length = 0;
      const burst = await Promise.all(Array.from({ length: LIMIT + 1 }, () => get(key1)));
      await Promise.all(burst.map((res) => res.body?.cancel()));
      const { response } = await hookline.GET("/v1/hooks", {});
      expect(response.status).toBe(200);
    }
    const first429 = seen.findIndex((s) => s.status === 429);
    expect(first429, JSON.stringify(seen)).toBeGreaterThanOrEqual(0);
    const retried = seen[first429 + 1]!;
    expect(retried.status).toBe(200);
    // The retry came no earlier than Retry-After said (whole seconds; allow for the clock's rounding).
    expect(retried.at - seen[first429]!.at).toBeGreaterThanOrEqual(Number(seen[first429]!.retryAfter) * 1000 - 50);
  });
});

/**
 * The server as `hookline` starts it (startHookline, not the tests' own
 * serve): the failed-authentication lockout is per client address. Listening
 * on `::` (dual stack), 127.0.0.1 and [::1] are two clients. When the entry
 * point dropped @hono/node-server's `env`, no address was known, every client
 * shared one bucket, and one client's wrong keys locked everyone out.
 */
describe("API rate limits on the started server", () => {
  let hookline: RunningHookline;
  let key: string;
  let port: number;

  beforeAll(async () => {
    const config = loadConfig({
      HOST: "::",
      PORT: "0",
      HOOKLINE_DATA_DIR: "memory://",
      HOOKLINE_ROLE: "api",
      HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      HOOKLINE_RATE_LIMIT_FAILED_AUTH: String(FAILED_AUTH_LIMIT),
      HOOKLINE_RATE_LIMIT_WINDOW_SECONDS: "60",
      LOG_LEVEL: "silent",
    });
    hookline = await startHookline(config, createLogger("silent"));
    port = Number(new URL(hookline.url!).port);
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" };
    const account = (await (await fetch(`http://127.0.0.1:${port}/v1/accounts`, { method: "POST", headers: admin, body: '{"name":"a"}' })).json()) as { id: string };
    const issued = await fetch(`http://127.0.0.1:${port}/v1/accounts/${account.id}/keys`, { method: "POST", headers: admin, body: '{"name":"k"}' });
    key = ((await issued.json()) as { key: string }).key;
  }, 120_000);
  afterAll(() => hookline?.stop());

  it("locks out the address that sent wrong keys, and only that one", async () => {
    const from = (host: string, token: string) => fetch(`http://${host}:${port}/v1/hooks`, { headers: { authorization: `Bearer ${token}` } });
    const statuses: number[] = [];
    for (let i = 0; i <= FAILED_AUTH_LIMIT; i++) {
      const res = await from("127.0.0.1", `wrong-${i}`);
      statuses.push(res.status);
      await res.body?.cancel();
    }
    expect(statuses).toEqual([...Array(FAILED_AUTH_LIMIT).fill(401), 429]);
    // The locked-out address is refused even with a good key (checked before any lookup) …
    expect((await from("127.0.0.1", key)).status).toBe(429);
    // … another client is not.
    expect((await from("[::1]", key)).status).toBe(200);
  });
});

/**
 * Behind a reverse proxy every client has the proxy's address; with the
 * proxy listed in HOOKLINE_TRUSTED_PROXIES, `X-Forwarded-For` names the
 * client (read from the right). Unlisted, the header is ignored, so a client
 * cannot choose its own bucket. The forwarded addresses are only header text
 * (documentation ranges, RFC 5737): no traffic leaves 127.0.0.1.
 */
describe("the failed-credential limit behind a reverse proxy", () => {
  let database: TestDatabase;
  let trusting: TestServer;
  let untrusting: TestServer;
  let key: string;

  beforeAll(async () => {
    database = await testBackends()[0]!.create();
    const limits = { HOOKLINE_RATE_LIMIT_FAILED_AUTH: String(FAILED_AUTH_LIMIT), HOOKLINE_RATE_LIMIT_WINDOW_SECONDS: "60" };
    trusting = await startTestServer(database, { ...limits, HOOKLINE_TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.1" });
    untrusting = await startTestServer(database, limits);
    key = (await trusting.newAccount("proxied")).key;
  });
  afterAll(async () => {
    await trusting?.close();
    await untrusting?.close();
    await database?.dispose();
  });

  const call = (server: TestServer, forwardedFor: string, token: string) =>
    fetch(`${server.url}/v1/hooks`, { headers: { authorization: `Bearer ${token}`, "x-forwarded-for": forwardedFor } });

  it("limits the client X-Forwarded-For names when the peer is a trusted proxy, skipping trusted hops", async () => {
    const statuses: number[] = [];
    // The client wrote a fake address at the left; the proxies (10.1.2.3, then 127.0.0.1) appended the real one.
    for (let i = 0; i <= FAILED_AUTH_LIMIT; i++) statuses.push((await call(trusting, `198.51.100.66, 203.0.113.5, 10.1.2.3`, `wrong-${i}`)).status);
    expect(statuses).toEqual([...Array(FAILED_AUTH_LIMIT).fill(401), 429]);
    // Another client through the same proxies is not locked out …
    expect((await call(trusting, "203.0.113.6", key)).status).toBe(200);
    // … and changing the left-hand (client-written) part does not free the locked-out one.
    expect((await call(trusting, "192.0.2.1, 203.0.113.5", key)).status).toBe(429);
    // … nor does a port appended by a proxy, or another spelling of the address.
    expect((await call(trusting, "203.0.113.5:41234", key)).status).toBe(429);
    expect((await call(trusting, "::ffff:203.0.113.5", key)).status).toBe(429);
    // The same holds for a bracketed IPv6 hop with a port.
    for (let i = 0; i < FAILED_AUTH_LIMIT; i++) expect((await call(trusting, `[2001:db8::7]:${40000 + i}`, `wrong-v6-${i}`)).status).toBe(401);
    expect((await call(trusting, "2001:db8:0:0:0:0:0:7", key)).status).toBe(429);
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    for (let i = 0; i < FAILED_AUTH_LIMIT; i++) expect((await call(untrusting, `203.0.113.${10 + i}`, `wrong-${i}`)).status).toBe(401);
    // A new forwarded address does not give the peer (127.0.0.1) a new bucket.
    expect((await call(untrusting, "203.0.113.99", key)).status).toBe(429);
  });

  it("refuses a setting that is not an address or range, naming it", () => {
    expect(() => loadConfig({ HOOKLINE_TRUSTED_PROXIES: "10.0.0.0/8, proxy.internal" })).toThrow(/HOOKLINE_TRUSTED_PROXIES.*proxy\.internal is not an IP address or CIDR range/s);
  });
});
