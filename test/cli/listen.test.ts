import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createReceiver, nodeHandler, type ReceivedEvent } from "@hookline/receiver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/delivery.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { startTcpRelay, type TcpRelay } from "../support/tcp-relay.js";
import { CLI, startProcess, type StartedProcess } from "./run-hookline.js";

/**
 * A local app built with the receiver kit, verifying every arrival with the
 * secret `hookline listen` printed (given once known; until then it answers 503).
 */
async function startLocalApp() {
  const received: ReceivedEvent[] = [];
  let refused = 0;
  const failedOnce = new Set<string>();
  let handle: ReturnType<typeof nodeHandler> | undefined;
  const server: Server = createServer((req, res) => {
    res.on("finish", () => {
      if (res.statusCode === 401) refused++;
    });
    if (!handle) {
      res.writeHead(503).end();
      return;
    }
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    received,
    refused: () => refused,
    useSecret(secret: string) {
      const receiver = createReceiver({ secret, dedupe: false, onError: () => {} }).on("*", (event) => {
        // The first attempt of event n=1 fails: Hookline must retry it through the stream.
        if ((event.data as { n?: number }).n === 1 && !failedOnce.has(event.id)) {
          failedOnce.add(event.id);
          throw new Error("first attempt fails");
        }
        received.push(event);
      });
      handle = nodeHandler(receiver);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `eventually` waits for a value: true, or undefined to keep polling. */
const truthy = (value: boolean): true | undefined => value || undefined;

describe.each(testBackends())("hookline listen --forward-to ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let relay: TcpRelay;

  beforeAll(async () => {
    database = await backend.create();
    // The server's address policy stays strict: listen never makes it connect to the local app.
    server = await startTestServer(database, { HOOKLINE_ALLOW_PRIVATE_TARGETS: "false", HOOKLINE_RETRY_SCHEDULE_MS: "200" });
    relay = await startTcpRelay("127.0.0.1", Number(new URL(server.url).port));
  });
  afterAll(async () => {
    await relay?.close();
    await server?.close();
    await database?.dispose();
  });

  it("forwards every signed delivery across a cut connection, none of another account's, and Ctrl-C removes the session", async () => {
    const mine = await server.newAccount("listener");
    const other = await server.newAccount("someone else");
    const api = specClient(server.url, { authorization: `Bearer ${mine.key}` });
    const otherApi = specClient(server.url, { authorization: `Bearer ${other.key}` });
    const app = await startLocalApp();
    let cli: StartedProcess | undefined;
    try {
      cli = startProcess(CLI, ["listen", "--forward-to", app.url, "--events", "build:*,ping", "--url", `http://127.0.0.1:${relay.port}`], {
        HOOKLINE_API_KEY: mine.key,
        HOOKLINE_DATA_DIR: "memory://",
      });
      const [, secret] = await cli.waitFor(/signing secret is (whsec_\S+)/);
      app.useSecret(secret!);
      const sessionId = Number(cli.stdout().match(/listen session (\d+)/)![1]);

      const publish = async (client: typeof api, type: string, n: number) => {
        const answer = await client.call("POST", "/v1/events", { body: { type, data: { n } } });
        expect(answer.status).toBe(202);
        return answer.body.id as number;
      };
      // The other account publishes a matching type: it must never reach this session.
      await publish(otherApi, "build:done", 100);
      await publish(api, "deploy:done", 101); // not subscribed (--events build:*,ping)
      for (const n of [0, 1, 2]) await publish(api, "build:done", n);
      const seen = () => new Set(app.received.map((e) => (e.data as { n: number }).n));
      await eventually(async () => truthy([0, 1, 2].every((n) => seen().has(n))), 30000, "the first three deliveries");

      // The connection drops mid-stream; events published meanwhile wait for the CLI to reconnect.
      relay.cut();
      for (const n of [3, 4, 5]) await publish(api, "build:done", n);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(
        [3, 4, 5].some((n) => seen().has(n)),
        "nothing can arrive while the link is cut",
      ).toBe(false);
      relay.restore();
      await eventually(async () => truthy([0, 1, 2, 3, 4, 5].every((n) => seen().has(n))), 30000, "every delivery after reconnecting");

      expect([...seen()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(app.refused(), "every forwarded delivery verified with the printed secret").toBe(0);
      expect(app.received.every((e) => e.type === "build:done")).toBe(true);

      // The attempt log shows the local app's answers as any other attempts: n=1 failed once (500), then succeeded.
      const deliveries = await eventually(
        async () => {
          const list = await api.call("GET", `/v1/hooks/${sessionId}/deliveries`);
          const done =
            list.status === 200 && list.body.length === 6 && list.body.every((d: { status: string }) => d.status === "succeeded");
          return done ? (list.body as Array<{ id: number }>) : undefined;
        },
        30_000,
        "six succeeded deliveries in the session's log",
      );
      const statuses = await Promise.all(
        deliveries.map(async (d) =>
          ((await api.call("GET", `/v1/deliveries/${d.id}`)).body.attempts as Array<{ response_status: number | null }>).map(
            (a) => a.response_status,
          ),
        ),
      );
      expect(statuses.filter((s) => s.includes(500) && s.includes(200))).toHaveLength(1);
      expect(statuses.every((s) => s.includes(200))).toBe(true);
      // One line per delivery: time, type, webhook-id, status, duration.
      expect(cli.stdout()).toMatch(/\d{4}-\d\d-\d\dT\S+Z {2}build:done {2}msg_\S+ {2}200 {2}\d+ ms/);
      // The session's deliveries are not another account's to read.
      expect((await otherApi.call("GET", `/v1/hooks/${sessionId}/deliveries`)).status).toBe(404);

      // Ctrl-C ends the CLI and removes the session.
      cli.child.kill("SIGINT");
      expect(await cli.exited).toBe(0);
      expect(cli.stdout()).toContain(`Listen session ${sessionId} removed.`);
      expect((await api.call("GET", `/v1/hooks/${sessionId}`)).status).toBe(404);
    } finally {
      if (cli && cli.child.exitCode === null) cli.child.kill("SIGKILL");
      await app.close();
    }
  }, 120_000);
});
