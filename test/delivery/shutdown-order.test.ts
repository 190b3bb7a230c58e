import { connect, type Socket } from "node:net";
import { Writable } from "node:stream";
import { issueApiKey, insertAccount, loadConfig, startHookline, type RunningHookline } from "@hookline/server";
import { openStore } from "@hookline/server/store";
import { sql } from "kysely";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

/*
 * The kind: shutdown order. Whatever still uses the store (requests in
 * flight, listen streams, API loops, the worker, retention, background
 * touches and NOTIFY hints) stops before the pool closes, and a clean stop
 * logs no error. The example: `hookline listen` with its stream open, and
 * the server stopped: the stream ended, the client reconnected on its
 * kept-alive connection, and the new stream ran on a pool being destroyed
 * ("driver has already been destroyed"), or held the server's close for ever.
 */

const backends = [{ kind: "pglite" as const }, ...(process.env.TEST_DATABASE_URL ? [{ kind: "postgres" as const }] : [])];
if (!process.env.TEST_DATABASE_URL && process.env.CI === "true") throw new Error("CI=true needs TEST_DATABASE_URL");

const disposers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const dispose of disposers) await dispose();
});

/** Log lines at warn or above, as JSON objects. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; err?: { message?: string } }> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), problems: () => lines.filter((line) => line.level >= 40) };
}

/** One kept-alive HTTP/1.1 connection, requests written by hand so the next one goes on the same socket. */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  let received = "";
  socket.on("data", (chunk) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  return {
    send: (head: string) => socket.write(`${head}\r\nhost: ${hostname}\r\n\r\n`),
    received: () => received,
    async waitFor(pattern: RegExp, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!pattern.test(received) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return pattern.test(received);
    },
    closed,
    destroy: () => socket.destroy(),
  };
}

async function settled<T>(promise: Promise<T>, ms: number): Promise<T | "still running"> {
  return Promise.race([promise, new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), ms))]);
}

describe.each(backends)("shutdown order ($kind)", ({ kind }) => {
  async function start(logger: pino.Logger): Promise<{ hookline: RunningHookline; key: string }> {
    let database: TestDatabase | undefined;
    if (kind === "postgres") {
      database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 2);
      await database.store.close();
      disposers.push(() => database!.dispose().catch(() => {}));
    }
    const config = loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      HOOKLINE_DATA_DIR: "memory://",
      ...(database ? { DATABASE_URL: database.url!, HOOKLINE_API_PROCESSES: "1" } : {}),
      HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
      HOOKLINE_ROLE: "both",
      HOOKLINE_WORKER_THREAD: "false",
      LOG_LEVEL: "info",
    });
    const hookline = await startHookline(config, logger);
    const account = await insertAccount(hookline.store.db, "listener");
    const { key } = await issueApiKey(hookline.store, account.id, "test key");
    return { hookline, key };
  }

  it("a listen stream open at stop, and a request on its kept-alive connection after: the stop ends, nothing runs on the closed pool, no error logged", async () => {
    const { logger, problems } = capturingLogger();
    const { hookline, key } = await start(logger);
    const created = await fetch(`${hookline.url}/v1/listen-sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(created.status).toBe(201);
    const session = (await created.json()) as { id: number };
    const streamRequest = `GET /v1/listen-sessions/${session.id}/stream HTTP/1.1\r\nauthorization: Bearer ${key}\r\naccept: text/event-stream`;

    const connection = rawConnection(hookline.url!);
    try {
      connection.send(streamRequest);
      expect(await connection.waitFor(/HTTP\/1\.1 200/)).toBe(true);

      const stopped = hookline.stop();
      // The stream ends (its last chunk), and the client asks again on the same connection at once, as `hookline listen` does.
      expect(await connection.waitFor(/\r\n0\r\n\r\n/)).toBe(true);
      connection.send(streamRequest);

      expect(await settled(stopped, 30_000)).toBeUndefined();
      // The late request was refused (or never read): it opened no stream on a closing pool.
      const answers = connection.received().match(/HTTP\/1\.1 \d+/g) ?? [];
      expect(answers.slice(1).every((status) => status === "HTTP/1.1 503")).toBe(true);
      expect(problems()).toEqual([]);
    } finally {
      connection.destroy();
    }
  }, 120_000);

  it("background work on the store (a key's last-used touch, a NOTIFY hint) finishes before the pool closes; none starts after", async () => {
    let url: string | undefined;
    if (kind === "postgres") {
      const database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 2);
      await database.store.close();
      disposers.push(() => database.dispose().catch(() => {}));
      url = database.url;
    }
    const store = await openStore({ databaseUrl: url, dataDir: "memory://", poolSize: 2 });
    const outcomes: string[] = [];
    store.background(() =>
      sql`select pg_sleep(0.3)`.execute(store.db).then(
        () => outcomes.push("finished"),
        (error: Error) => outcomes.push(`failed: ${error.message}`),
      ),
    );
    const closing = store.close();
    store.background(async () => outcomes.push("started after close"));
    await closing;
    expect(outcomes).toEqual(["finished"]);
  }, 60_000);
});
