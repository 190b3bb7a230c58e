import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient } from "./client.js";
import { retryAfterMs, withRetries } from "./retry.js";

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A real server on 127.0.0.1 that gives the scripted answers in order (the last one repeats) and records every request. */
async function scriptedServer(answers: Answer[], port = 0) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const answer = answers[Math.min(seen.length, answers.length) - 1]!;
      const json = answer.status >= 400 ? "application/problem+json" : "application/json";
      res.writeHead(answer.status, { "content-type": json, ...answer.headers });
      res.end(JSON.stringify(answer.body ?? { type: "about:blank", title: "Unavailable", status: answer.status }));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const hook = { id: 4, url: "http://127.0.0.1/in", events: ["*"] };
const ok: Answer = { status: 200, body: hook };
const fast = { minTimeout: 10, maxTimeout: 20 };
const getHook = (client: ReturnType<typeof createClient>) => client.GET("/v1/hooks/{id}", { params: { path: { id: 4 } } });

describe("retries against a real server", () => {
  it("retries a GET after 503 and returns the 200, with the bearer key on every attempt", async () => {
    const server = await scriptedServer([{ status: 503 }, ok]);
    const client = createClient({ baseUrl: server.url, apiKey: "k1", retry: fast });
    const { data, error } = await getHook(client);
    expect(error).toBeUndefined();
    expect(data?.id).toBe(4);
    expect(server.seen.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
      ["GET", "/v1/hooks/4", "Bearer k1"],
      ["GET", "/v1/hooks/4", "Bearer k1"],
    ]);
  });

  it("waits at least Retry-After seconds after a 429", async () => {
    const server = await scriptedServer([{ status: 429, headers: { "retry-after": "1" } }, ok]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: fast });
    const started = performance.now();
    const { data } = await getHook(client);
    expect(data?.id).toBe(4);
    expect(server.seen).toHaveLength(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("does not wait a Retry-After longer than maxRetryAfter: returns the 429 at once", async () => {
    const server = await scriptedServer([{ status: 429, headers: { "retry-after": "120" } }, ok]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: { ...fast, maxRetryAfter: 5_000 } });
    const started = performance.now();
    const { error, response } = await getHook(client);
    expect(response.status).toBe(429);
    expect(error?.status).toBe(429);
    expect(server.seen).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("stops waiting out Retry-After when the caller aborts", async () => {
    const server = await scriptedServer([{ status: 503, headers: { "retry-after": "20" } }, ok]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: fast });
    const started = performance.now();
    await expect(client.GET("/v1/hooks/{id}", { params: { path: { id: 4 } }, signal: AbortSignal.timeout(200) })).rejects.toThrow(/abort|timeout/i);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(server.seen).toHaveLength(1);
  });

  it("gives up after retries + 1 attempts and returns the last problem document", async () => {
    const server = await scriptedServer([{ status: 503, body: { type: "about:blank", title: "Down", status: 503 } }]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: { ...fast, retries: 3 } });
    const { data, error } = await getHook(client);
    expect(data).toBeUndefined();
    expect(error).toEqual({ type: "about:blank", title: "Down", status: 503 });
    expect(server.seen).toHaveLength(4);
  });

  it("gives a POST without a key a generated Idempotency-Key and retries it with the same key", async () => {
    const server = await scriptedServer([{ status: 503 }, { status: 201, body: hook }]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: fast });
    const { data } = await client.POST("/v1/hooks", { body: { url: "http://127.0.0.1/in", events: ["*"] } });
    expect(data?.id).toBe(4);
    const keys = server.seen.map((r) => r.headers["idempotency-key"]);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it("makes a new key per call, never reusing one for a different request", async () => {
    const server = await scriptedServer([{ status: 201, body: hook }]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: fast });
    await client.POST("/v1/hooks", { body: { url: "http://127.0.0.1/in", events: ["*"] } });
    await client.POST("/v1/hooks", { body: { url: "http://127.0.0.1/in", events: ["*"] } });
    expect(new Set(server.seen.map((r) => r.headers["idempotency-key"])).size).toBe(2);
  });

  it("retries a keyed write on 409 with Retry-After (the first request still runs)", async () => {
    const busy: Answer = { status: 409, headers: { "retry-after": "0" }, body: { type: "https://hookline.dev/problems/idempotency-in-progress", title: "Idempotent request in progress", status: 409 } };
    const server = await scriptedServer([busy, { status: 201, body: hook }]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: fast });
    const { data } = await client.POST("/v1/hooks", { body: { url: "http://127.0.0.1/in", events: ["*"] } });
    expect(data?.id).toBe(4);
    expect(server.seen).toHaveLength(2);
  });

  it("retries a POST with Idempotency-Key, resending the same body", async () => {
    const server = await scriptedServer([{ status: 502 }, { status: 201, body: hook }]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: fast });
    const { data } = await client.POST("/v1/hooks", {
      body: { url: "http://127.0.0.1/in", events: ["*"] },
      headers: { "Idempotency-Key": "create-1" },
    });
    expect(data?.id).toBe(4);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.body).toBe(server.seen[0]!.body);
    expect(JSON.parse(server.seen[1]!.body)).toEqual({ url: "http://127.0.0.1/in", events: ["*"] });
  });

  it("retries a PATCH and a DELETE with their keys; sends a Kazoo write (no key there) once, and nothing twice when retry is false", async () => {
    const server = await scriptedServer([{ status: 500 }]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: { ...fast, retries: 1 } });
    await client.PATCH("/v1/hooks/{id}", { params: { path: { id: 4 } }, body: { name: "x" } });
    await client.DELETE("/v1/hooks/{id}", { params: { path: { id: 4 } } });
    await client.POST("/v1/accounts/{account_id}/webhooks/{webhook_id}", {
      params: { path: { account_id: "a".repeat(32), webhook_id: 4 } },
      body: { data: { name: "x", uri: "http://127.0.0.1/in", hook: "all" } },
    });
    const once = createClient({ baseUrl: server.url, apiKey: "k", retry: false });
    const { response } = await getHook(once);
    await once.POST("/v1/hooks", { body: { url: "http://127.0.0.1/in", events: ["*"] } });
    expect(response.status).toBe(500);
    expect(server.seen.map((r) => [r.method, r.headers["idempotency-key"] !== undefined])).toEqual([
      ["PATCH", true], ["PATCH", true], ["DELETE", true], ["DELETE", true], ["POST", false], ["GET", false], ["POST", false],
    ]);
    expect(server.seen[1]!.headers["idempotency-key"]).toBe(server.seen[0]!.headers["idempotency-key"]);
  });

  it("retries a refused connection and succeeds once the server is up", async () => {
    const port = await freePort();
    // After the first refusal, a server starts on that port.
    const refused = countedClient(port, (calls) => (calls === 1 ? scriptedServer([ok], port) : undefined));
    const { data } = await getHook(refused.client);
    expect(data?.id).toBe(4);
    expect(refused.calls()).toBe(2);
  });

  it("rejects with the network error after the last attempt on a port that refuses", async () => {
    const refused = countedClient(await freePort());
    await expect(getHook(refused.client)).rejects.toThrow(/fetch failed/);
    expect(refused.calls()).toBe(3);
  });
});

/** A client on 127.0.0.1:port whose real fetch is counted; `onFailure` runs when an attempt throws. */
function countedClient(port: number, onFailure: (calls: number) => unknown = () => {}) {
  let calls = 0;
  const client = createClient({
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey: "k",
    retry: { ...fast, retries: 2 },
    fetch: async (request, init) => {
      calls++;
      try {
        return await fetch(request, init);
      } catch (error) {
        await onFailure(calls);
        throw error;
      }
    },
  });
  return { client, calls: () => calls };
}

describe("what is retried, and how (edges found by mutation testing)", () => {
  it("returns a keyed write's 409 without Retry-After at once (not the server's \"still running\")", async () => {
    const server = await scriptedServer([{ status: 409 }, { status: 201, body: hook }]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: fast });
    const { response } = await client.POST("/v1/hooks", { body: { url: "http://127.0.0.1/in", events: ["*"] } });
    expect(response.status).toBe(409);
    expect(server.seen).toHaveLength(1);
  });

  it("retries 599, the last 5xx", async () => {
    const server = await scriptedServer([{ status: 599 }, ok]);
    expect((await getHook(createClient({ baseUrl: server.url, apiKey: "k", retry: fast }))).data?.id).toBe(4);
    expect(server.seen).toHaveLength(2);
  });

  it("waits a Retry-After of exactly maxRetryAfter", async () => {
    const server = await scriptedServer([{ status: 429, headers: { "retry-after": "1" } }, ok]);
    const client = createClient({ baseUrl: server.url, apiKey: "k", retry: { ...fast, maxRetryAfter: 1000 } });
    expect((await getHook(client)).data?.id).toBe(4);
    expect(server.seen).toHaveLength(2);
  });

  it("with retries: 0 sends a write once, as given, without a generated key", async () => {
    const server = await scriptedServer([{ status: 503 }]);
    await createClient({ baseUrl: server.url, apiKey: "k", retry: { retries: 0 } }).POST("/v1/hooks", { body: { url: "http://127.0.0.1/in", events: ["*"] } });
    expect(server.seen.map((r) => r.headers["idempotency-key"])).toEqual([undefined]);
  });

  it("does not retry what a custom fetch throws that is no network error (the caller's bug)", async () => {
    let calls = 0;
    const fetchBug = async () => {
      calls++;
      throw new Error("bug in the caller's fetch");
    };
    await expect(getHook(createClient({ baseUrl: "http://127.0.0.1:9", apiKey: "k", retry: fast, fetch: fetchBug }))).rejects.toThrow(/bug in/);
    expect(calls).toBe(1);
  });

  it("retries a HEAD, whose 503 has no body to free", async () => {
    const server = await scriptedServer([{ status: 503 }, ok]);
    const response = await withRetries((request, init) => fetch(request, init), fast)(new Request(`${server.url}/v1/hooks/4`, { method: "HEAD" }));
    expect(response.status).toBe(200);
    expect(server.seen.map((r) => r.method)).toEqual(["HEAD", "HEAD"]);
  });

  it("leaves no abort listener on the request's signal after waiting out a Retry-After", async () => {
    const server = await scriptedServer([{ status: 503, headers: { "retry-after": "0" } }, ok]);
    const request = new Request(`${server.url}/v1/hooks/4`, { signal: new AbortController().signal });
    const before = getEventListeners(request.signal, "abort").length;
    expect((await withRetries((r, init) => fetch(r, init), fast)(request)).status).toBe(200);
    expect(getEventListeners(request.signal, "abort")).toHaveLength(before);
  });

  it("spreads the backoff with jitter (up to twice minTimeout)", async () => {
    const server = await scriptedServer([{ status: 503 }, ok]);
    const random = vi.spyOn(Math, "random").mockReturnValue(0.99);
    try {
      const started = performance.now();
      expect((await getHook(createClient({ baseUrl: server.url, apiKey: "k", retry: { minTimeout: 300, maxTimeout: 1000 } }))).data?.id).toBe(4);
      expect(performance.now() - started).toBeGreaterThanOrEqual(550);
    } finally {
      random.mockRestore();
    }
  });
});

describe("retryAfterMs", () => {
  it("reads delta-seconds and HTTP-dates, and 0 for junk", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs("3", now)).toBe(3000);
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:02 GMT", now)).toBe(2000);
    expect(retryAfterMs("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBe(0);
    expect(retryAfterMs(null, now)).toBe(0);
  });

  it("ignores what is neither delay-seconds nor an HTTP-date (RFC 9110)", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    for (const junk of ["120.5", "1.5", "-1", "1e3", "2026-01-01T00:00:02Z", "Thursday, 01-Jan-26 00:00:02 +0000", "Thu Jan  1 00:00:02 2026 GMT"]) {
      expect(retryAfterMs(junk, now), junk).toBe(0);
    }
    // The lenient parse this replaces read "120.5" as a date in 2001: make sure the test would see it.
    expect(Date.parse("120.5")).not.toBeNaN();
  });
});

/** A port nobody listens on: bind to 0, read the port, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
