import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eventually } from "../support/delivery.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { attemptsOfEvent, publishThrough, runListen, startHangingApp, startLocalApp } from "../support/listen-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startTcpRelay } from "../support/tcp-relay.js";

/**
 * `hookline listen` in process at its edges: a key the server refuses, a
 * redirect and a long body from the local app, Ctrl-C while the local app
 * is still answering, a second Ctrl-C, and the backoff of a stream that
 * cannot be reopened. The main paths are listen-in-process.test.ts.
 */
describe.each(testBackends())("hookline listen in process, edges ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database, { HOOKLINE_RETRY_SCHEDULE_MS: "60000" });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("says the server refused to start a session, with the server's reason", async () => {
    const cli = runListen(server, "hk_not_a_key", { "forward-to": "http://127.0.0.1:9/" });
    const error = await cli.ended;
    vi.restoreAllMocks();
    expect(error?.message).toMatch(/^Starting a listen session failed: 401 \S/);
    expect(cli.lines).toEqual([]);
  });

  it("reports a redirect as the answer, unfollowed, and the first 4 KiB of a body longer than a report may carry; an empty --events is every type", async () => {
    const me = await server.newAccount("edges: answers");
    const app = await startLocalApp((n) =>
      n === 0 ? { status: 302, headers: { location: "/elsewhere" }, body: "moved" } : { status: 200, body: "x".repeat(70_000) },
    );
    const cli = runListen(server, me.key, { "forward-to": app.url, events: " , " });
    try {
      await cli.sessionId();
      expect(cli.lines[0]).toMatch(/^Ready: forwarding \* to /);
      const moved = await publishThrough(server, me.key, "a:moved", {});
      const long = await publishThrough(server, me.key, "a:long", {});
      const [redirect] = await eventually(
        async () => ((await attemptsOfEvent(database, moved)).length ? attemptsOfEvent(database, moved) : undefined),
        20_000,
        "the redirect",
      );
      expect(redirect).toMatchObject({ status: "pending", response_status: 302, response_body: "moved", error_kind: "status" });
      expect(redirect!.response_headers).toMatchObject({ location: "/elsewhere" });
      const [capped] = await eventually(
        async () => ((await attemptsOfEvent(database, long)).length ? attemptsOfEvent(database, long) : undefined),
        20_000,
        "the long answer",
      );
      expect(capped).toMatchObject({ status: "succeeded", response_status: 200, response_body: "x".repeat(4096) });
      expect(app.arrivals.map((a) => a.url)).toEqual(["/hooks/in", "/hooks/in"]);
      expect(cli.errors).toEqual([]);
    } finally {
      await cli.stop();
      await app.close();
    }
  });

  it("Ctrl-C while the local app is still answering reports nothing; a second Ctrl-C exits at once", async () => {
    const me = await server.newAccount("edges: interrupted");
    const hanging = await startHangingApp();
    const exits: unknown[] = [];
    const cli = runListen(server, me.key, { "forward-to": hanging.url });
    vi.spyOn(process, "exit").mockImplementation(((code?: number) => void exits.push(code)) as never);
    try {
      await cli.sessionId();
      const eventId = await publishThrough(server, me.key, "a:hanging", {});
      await hanging.arrival;
      cli.signal("SIGINT");
      expect(exits, "the first one only stops").toEqual([]);
      cli.signal("SIGINT");
      expect(exits).toEqual([130]);
      expect(await cli.ended).toBeUndefined();
      expect(cli.lines.at(-1)).toMatch(/^Listen session \d+ removed\.$/);
      expect(
        cli.lines.filter((line) => line.includes("a:hanging")),
        "no answer printed",
      ).toEqual([]);
      expect(cli.errors).toEqual([]);
      expect(await attemptsOfEvent(database, eventId)).toEqual([]);
    } finally {
      await cli.stop();
      await hanging.close();
    }
  });

  it("backs off doubling while the stream cannot be reopened, from 500 ms again once it is", async () => {
    const me = await server.newAccount("edges: backoff");
    const relay = await startTcpRelay("127.0.0.1", Number(new URL(server.url).port));
    const app = await startLocalApp(() => ({ status: 204, body: "" }));
    const cli = runListen(server, me.key, { "forward-to": app.url, url: `http://127.0.0.1:${relay.port}` });
    try {
      await cli.sessionId();
      // A delivery answered: the stream is open (a reopening counts from there).
      const eventId = await publishThrough(server, me.key, "a:open", {});
      await eventually(async () => ((await attemptsOfEvent(database, eventId)).length ? true : undefined), 20_000, "the stream open");
      relay.cut();
      // (The answer's report may be said lost too, as the link went.)
      const interruptions = () => cli.errors.filter((line) => line.startsWith("Stream interrupted"));
      const interrupted = await eventually(
        async () => (interruptions().length >= 3 ? interruptions().slice(0, 3) : undefined),
        20_000,
        "three failed reopenings",
      );
      expect(interrupted.map((line) => line.match(/reconnecting in (\d+) ms\.$/)?.[1])).toEqual(["500", "1000", "2000"]);
      relay.restore();
      await eventually(async () => cli.lines.includes("Reconnected.") || undefined, 20_000, "the CLI reconnecting");
      relay.cut();
      const after = await eventually(async () => interruptions()[3], 20_000, "the next failure");
      expect(after).toMatch(/reconnecting in 500 ms\.$/);
      relay.restore();
    } finally {
      await cli.stop();
      await relay.close();
      await app.close();
    }
  });
});
