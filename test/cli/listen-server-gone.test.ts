import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/delivery.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_MAIN_SECRET } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { CLI, MAIN, startProcess, type StartedProcess } from "./run-hookline.js";

const APP_ANSWER_MS = 300;
const PUBLISHED = 12;

/**
 * The kind: a duplicate made on purpose. The server hands a listen stream
 * several deliveries at once and `hookline listen` forwards them one by one;
 * when the server stopped (SIGTERM: it ends its streams cleanly, then answers
 * 503 or nothing) the CLI kept forwarding what it had already read, although
 * no answer could be reported any more: every one of them reached the local
 * app and is certain to be sent again (same `webhook-id`) once the server is
 * back. Seen on a built server: five deliveries forwarded after it had
 * exited, each "Could not report …; Hookline sends it again". Now an answer
 * the server did not take ends that stream: the rest is left for the server
 * to send again, so the app gets it once.
 */
describe.each(testBackends())("hookline listen when the server stops ($kind)", (backend) => {
  let database: TestDatabase;
  let dataDir: string | undefined;
  let server: StartedProcess;
  let url: string;
  let key: string;

  beforeAll(async () => {
    database = await backend.create();
    // The server runs as a process of its own (it must stop as `hookline start` does); PGlite's folder is its alone.
    if (!database.url) {
      dataDir = mkdtempSync(join(tmpdir(), "hookline-listen-stop-"));
      await database.dispose();
    }
    const store: Record<string, string> = database.url ? { DATABASE_URL: database.url } : { HOOKLINE_DATA_DIR: dataDir! };
    server = startProcess(MAIN, [], {
      PORT: "0",
      HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
      HOOKLINE_API_PROCESSES: "1",
      LOG_LEVEL: "info",
      ...store,
    });
    url = (await server.waitFor(/running at (http:\/\/\S+)/, 90_000))[1]!;
    // Not a terminal: the first start keeps the default account's key in a file.
    key = readFileSync((await server.waitFor(/API key is in (\S+) \(/))[1]!, "utf8").trim();
  }, 120_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
    if (database?.url) await database.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("forwards nothing more of a stream once an answer cannot be reported", async () => {
    const api = specClient(url, { authorization: `Bearer ${key}` });
    const arrivals: number[] = [];
    const app: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        arrivals.push((JSON.parse(body) as { n: number }).n);
        setTimeout(() => res.writeHead(204).end(), APP_ANSWER_MS);
      });
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    let cli: StartedProcess | undefined;
    try {
      const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/webhooks`;
      cli = startProcess(CLI, ["listen", "--forward-to", appUrl, "--url", url], { HOOKLINE_API_KEY: key, HOOKLINE_DATA_DIR: "memory://" });
      await cli.waitFor(/signing secret is whsec_/);
      const batch = await api.call("POST", "/v1/events/batch", {
        body: { events: Array.from({ length: PUBLISHED }, (_, n) => ({ type: "build:done", data: { n } })) },
      });
      expect(batch.status).toBe(200);
      await eventually(async () => (arrivals.length >= 2 ? true : undefined), 30_000, "the first forwarded deliveries");
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      const atStop = arrivals.length;
      // Long enough for the CLI to forward every delivery it had read, one by one.
      await new Promise((resolve) => setTimeout(resolve, (PUBLISHED + 2) * APP_ANSWER_MS));
      // The one on its way when the server stopped may arrive; nothing after it.
      expect(arrivals.length - atStop, `arrivals after the stop: ${arrivals.slice(atStop).join(",")}\n${cli.output()}`).toBeLessThanOrEqual(
        1,
      );
    } finally {
      if (cli && cli.child.exitCode === null) cli.child.kill("SIGKILL");
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  }, 90_000);
});
