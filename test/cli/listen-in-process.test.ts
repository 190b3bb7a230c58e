import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/delivery.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { attemptsOfEvent, publishThrough, runListen, startLocalApp } from "../support/listen-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startTcpRelay } from "../support/tcp-relay.js";

/**
 * `hookline listen` inside the test process against an in-process server
 * (listen.test.ts runs it as a process, which mutation testing cannot see):
 * what it forwards to the local app, what it reports and prints, how it
 * reopens a stream taken over, and how a signal ends it. Refusals, redirects,
 * long bodies, backoff and a second Ctrl-C are listen-in-process-edges.test.ts.
 */

describe.each(testBackends())("hookline listen in process ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    database = await backend.create();
    // An attempt deadline of 2 s: a local app slower than that answers too late.
    server = await startTestServer(database, { HOOKLINE_RETRY_SCHEDULE_MS: "200", HOOKLINE_DELIVERY_TIMEOUT_MS: "1000" });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const listen = (key: string, args: { "forward-to": string; events?: string; url?: string }) => runListen(server, key, args);
  const publish = (key: string, type: string, data: unknown) => publishThrough(server, key, type, data);
  const attemptsOf = (eventId: number) => attemptsOfEvent(database, eventId);

  it("forwards each delivery of the chosen types as signed, reports the local app's answer byte for byte, and a signal removes the session", async () => {
    const me = await server.newAccount("in-process listener");
    const app = await startLocalApp((n) =>
      n === 0
        ? { status: 500, body: "not yet" }
        : { status: 201, headers: { "x-app": "yes" }, body: Buffer.from([0x6f, 0x6b, 0x00, 0xff]) },
    );
    const signalHandlersBefore = process.listeners("SIGINT").length + process.listeners("SIGTERM").length;
    const cli = listen(me.key, { "forward-to": app.url, events: " build:* , ,ping" });
    try {
      const sessionId = await cli.sessionId();
      expect(cli.lines[0]).toBe(
        `Ready: forwarding build:*, ping to ${app.url} (listen session ${sessionId}, through ${server.url}). Ctrl-C to stop.`,
      );
      const secret = cli.lines[1]!.match(/^Your webhook signing secret is (whsec_\S+)$/)?.[1];
      expect(secret).toBeDefined();

      await publish(me.key, "deploy:done", { skipped: true });
      const eventId = await publish(me.key, "build:done", { n: 1 });
      const attempts = await eventually(
        async () => {
          const rows = await attemptsOf(eventId);
          return rows.length === 2 && rows[1]!.status === "succeeded" ? rows : undefined;
        },
        20_000,
        "a failed then a succeeded attempt",
      );
      expect(attempts.map((a) => [a.response_status, a.error_kind])).toEqual([
        [500, "status"],
        [201, null],
      ]);
      expect(attempts[0]!.response_body).toBe("not yet");
      expect(attempts[1]!.response_headers).toMatchObject({ "x-app": "yes" });
      // Not UTF-8: the exact bytes came back (base64 over the stream), kept as base64.
      const stored = await database.store.db
        .selectFrom("delivery_attempts")
        .select(["response_body", "response_body_encoding"])
        .where("response_status", "=", 201)
        .where("response_body", "is not", null)
        .orderBy("id", "desc")
        .executeTakeFirstOrThrow();
      expect(stored).toEqual({ response_body: Buffer.from([0x6f, 0x6b, 0x00, 0xff]).toString("base64"), response_body_encoding: "base64" });

      expect(app.arrivals.map((a) => [a.method, a.url, a.body])).toEqual([
        ["POST", "/hooks/in", '{"n":1}'],
        ["POST", "/hooks/in", '{"n":1}'],
      ]);
      expect(app.arrivals[0]!.headers["webhook-id"]).toBe(attempts[0]!.message_id);
      expect(app.arrivals[0]!.headers["webhook-signature"]).toMatch(/^v1,/);
      const printed = cli.lines.filter((line) => line.includes(attempts[0]!.message_id));
      expect(printed).toHaveLength(2);
      expect(printed[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  build:done  ${attempts[0]!.message_id}  500  \\d+ ms$`));
      expect(printed[1]).toMatch(/ {2}201 {2}\d+ ms$/);

      expect(await cli.stop()).toBeUndefined();
      expect(cli.lines.at(-1)).toBe(`Listen session ${sessionId} removed.`);
      expect(cli.errors).toEqual([]);
      expect([...process.listeners("SIGINT"), ...process.listeners("SIGTERM")], "its signal handlers are gone").toHaveLength(
        signalHandlersBefore,
      );
      expect(await database.store.db.selectFrom("hooks").select("id").where("id", "=", sessionId).executeTakeFirst()).toBeUndefined();
    } finally {
      await cli.stop();
      await app.close();
    }
  });

  it("reopens a stream another connection took over or a cut connection dropped, keeps forwarding on it, and ends on SIGTERM", async () => {
    const me = await server.newAccount("taken over");
    const app = await startLocalApp(() => ({ status: 204, body: "" }));
    const relay = await startTcpRelay("127.0.0.1", Number(new URL(server.url).port));
    const cli = listen(me.key, { "forward-to": app.url, url: `http://127.0.0.1:${relay.port}` });
    try {
      const sessionId = await cli.sessionId();
      expect(cli.lines[0]).toMatch(/^Ready: forwarding \* to /);
      const publishedId = publish(me.key, "a:first", {});
      const firstId = await publishedId;
      // Answered and recorded before the takeover: an answer to a stream taken over is not taken.
      await eventually(
        async () => ((await attemptsOf(firstId))[0]?.status === "succeeded" ? true : undefined),
        20_000,
        "the first delivery",
      );
      // Another stream of the session ends the CLI's; the CLI takes it back after its backoff.
      const other = new AbortController();
      const taking = await fetch(`${server.url}/v1/listen-sessions/${sessionId}/stream`, {
        headers: { authorization: `Bearer ${me.key}` },
        signal: other.signal,
      });
      expect(taking.status).toBe(200);
      await eventually(async () => cli.lines.includes("Reconnected.") || undefined, 20_000, "the CLI reconnecting");
      other.abort();
      const secondId = await publish(me.key, "a:second", {});
      // Reported through the relay before it is cut.
      await eventually(
        async () => ((await attemptsOf(secondId))[0]?.status === "succeeded" ? true : undefined),
        20_000,
        "a delivery after reconnecting",
      );
      expect(cli.errors).toEqual([]);

      relay.cut();
      // (A report on its way back when the link went may be said lost too: the delivery is then sent again.)
      const interrupted = await eventually(
        async () => cli.errors.find((error) => error.startsWith("Stream interrupted")),
        20_000,
        "the stream interrupted",
      );
      expect(interrupted).toMatch(/^Stream interrupted \(.+\); reconnecting in 500 ms\.$/);
      relay.restore();
      await eventually(
        async () => cli.lines.filter((line) => line === "Reconnected.").length === 2 || undefined,
        20_000,
        "the CLI reconnecting again",
      );
      const thirdId = await publish(me.key, "a:third", {});
      await eventually(
        async () => ((await attemptsOf(thirdId))[0]?.status === "succeeded" ? true : undefined),
        20_000,
        "a delivery after the cut",
      );

      expect(await cli.stop("SIGTERM")).toBeUndefined();
      expect(cli.lines.at(-1)).toBe(`Listen session ${sessionId} removed.`);
    } finally {
      await cli.stop();
      await app.close();
      await relay.close();
    }
  });

  it("reports a local app it cannot reach as the attempt's error, and stops when its session is deleted elsewhere", async () => {
    const me = await server.newAccount("unreachable app");
    const gone = await startLocalApp(() => ({ status: 200, body: "" }));
    await gone.close();
    const cli = listen(me.key, { "forward-to": gone.url });
    try {
      const sessionId = await cli.sessionId();
      const eventId = await publish(me.key, "a:lost", {});
      const [attempt] = await eventually(
        async () => {
          const rows = await attemptsOf(eventId);
          return rows.length > 0 ? rows : undefined;
        },
        20_000,
        "the failed attempt",
      );
      expect(attempt).toMatchObject({ response_status: null, error_kind: "connection" });
      expect(attempt!.error).toMatch(/^not forwarded: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      expect(cli.lines.find((line) => line.includes(attempt!.message_id))).toMatch(
        / {2}error \(ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+\) {2}\d+ ms$/,
      );

      const removed = await fetch(`${server.url}/v1/listen-sessions/${sessionId}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${me.key}` },
      });
      expect(removed.ok).toBe(true);
      expect((await cli.ended)?.message).toBe(`Listen session ${sessionId} is gone (expired or deleted): run hookline listen again.`);
      expect(cli.lines.at(-1)).toBe(`Listen session ${sessionId} could not be removed; it expires on its own.`);
    } finally {
      await cli.stop();
    }
  });

  it("says so when the server no longer waits for an answer the local app gave too late", async () => {
    const me = await server.newAccount("slow app");
    let first = true;
    const slow = createServer((req, res) => {
      const delay = first ? 2_500 : 0;
      first = false;
      req.resume();
      setTimeout(() => res.writeHead(200).end("late"), delay);
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    const cli = listen(me.key, { "forward-to": `http://127.0.0.1:${(slow.address() as AddressInfo).port}/` });
    try {
      await cli.sessionId();
      await publish(me.key, "a:slow", {});
      const line = await eventually(
        async () => cli.errors.find((error) => error.startsWith("Could not report")),
        20_000,
        "the late report",
      );
      expect(line).toMatch(/^Could not report delivery \d+'s answer; Hookline sends it again\.$/);
    } finally {
      await cli.stop();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});
