import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount, issueApiKey } from "@hookline/server";
import { eventually } from "../support/delivery.js";
import type { TestDatabase } from "../support/databases.js";
import { specClient } from "../support/spec-client.js";
import { startTcpRelay } from "../support/tcp-relay.js";
import { CLI, startOnTwoLoops, startProcess, type StartedProcess } from "./run-hookline.js";

/** Long beside how soon the attempts must be recorded: a result lost on the wrong loop shows as a resend after it. */
const LEASE_MS = 60_000;
/** How soon every forwarded delivery's attempt must be in the log. */
const RECORDED_WITHIN_MS = 30_000;
const EVENTS = 12;

/**
 * `hookline listen` against the API on two event loops (PostgreSQL, started
 * as `pnpm start` does): the CLI's results land on whichever loop the server
 * deals their connection to, and each must reach the loop holding the
 * session's stream — recorded at once, not resent when the lease runs out —
 * and so must those after the stream reconnected (to either loop).
 */
describe.skipIf(!process.env.TEST_DATABASE_URL)("hookline listen on two API loops (PostgreSQL)", () => {
  let database: TestDatabase;
  let server: StartedProcess;
  let url: string;

  beforeAll(async () => {
    ({ database, server, url } = await startOnTwoLoops({ HOOKLINE_LEASE_MS: String(LEASE_MS) }));
  }, 120_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
    await database?.dispose();
  });

  it("records every forwarded delivery's attempt whichever loop the result or the reconnected stream lands on, none sent twice", async () => {
    const account = await insertAccount(database.store.db, "listener");
    const { key } = await issueApiKey(database.store, account.id, "k");
    const api = specClient(url, { authorization: `Bearer ${key}` });
    const received: string[] = [];
    // Slow enough that the CLI's results overlap, on several connections (dealt to both loops).
    const app = createServer((req, res) => {
      received.push(String(req.headers["webhook-id"]));
      req.resume();
      setTimeout(() => res.writeHead(200).end("ok"), 200);
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    // The CLI reaches the server through a relay: cutting it makes the CLI reconnect, to whichever loop is next.
    const relay = await startTcpRelay("127.0.0.1", Number(new URL(url).port));
    let cli: StartedProcess | undefined;
    try {
      cli = startProcess(
        CLI,
        ["listen", "--forward-to", `http://127.0.0.1:${(app.address() as AddressInfo).port}/`, "--url", `http://127.0.0.1:${relay.port}`],
        {
          HOOKLINE_API_KEY: key,
          HOOKLINE_DATA_DIR: "memory://",
        },
      );
      await cli.waitFor(/signing secret is (whsec_\S+)/, 60_000);
      const sessionId = Number(cli.stdout().match(/listen session (\d+)/)![1]);
      const succeeded = (count: number, what: string) =>
        eventually(
          async () => {
            const list = await api.call("GET", `/v1/hooks/${sessionId}/deliveries`);
            const done =
              list.status === 200 && list.body.length === count && list.body.every((d: { status: string }) => d.status === "succeeded");
            return done ? (list.body as Array<{ id: number }>) : undefined;
          },
          RECORDED_WITHIN_MS,
          what,
        );
      // Twice, the stream cut in between (its reconnection and the second round's results open new connections).
      for (const round of [0, 1]) {
        if (round) {
          // Cut once the first round is recorded: a result cut off on its way is sent again, rightly (at least once).
          await succeeded(EVENTS / 2, "the first round");
          relay.cut();
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          relay.restore();
        }
        const published = await Promise.all(
          Array.from({ length: EVENTS / 2 }, (_, n) =>
            api.call("POST", "/v1/events", { body: { type: "build:done", data: { n, round } } }),
          ),
        );
        expect(published.map((p) => p.status)).toEqual(Array(EVENTS / 2).fill(202));
      }
      const deliveries = await succeeded(EVENTS, "every delivery succeeded, well before the lease runs out");
      for (const d of deliveries) {
        const attempts = (await api.call("GET", `/v1/deliveries/${d.id}`)).body.attempts as Array<{ response_status: number | null }>;
        expect(attempts.map((a) => a.response_status)).toEqual([200]);
      }
      expect(received).toHaveLength(EVENTS);
      expect(new Set(received).size).toBe(EVENTS);
    } finally {
      if (cli && cli.child.exitCode === null) cli.child.kill("SIGKILL");
      await relay.close();
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  }, 180_000);
});
