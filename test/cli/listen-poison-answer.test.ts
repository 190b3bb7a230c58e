import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/delivery.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { CLI, startProcess } from "./run-hookline.js";

/**
 * The poison-answer kind (issue 25) in listen mode: a local app answering
 * `ok\0` (a NUL byte; PostgreSQL text cannot hold one) made the CLI's report
 * a 400, and the delivery was sent again for ever under the same
 * `webhook-id`. The CLI reports the exact bytes (`body_base64`); the attempt
 * is recorded once, and reads back as base64 as a receiver's answer does.
 */
describe.each(testBackends().slice(0, 1))("hookline listen, an app answering bytes that are not text ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database, { HOOKLINE_ALLOW_PRIVATE_TARGETS: "false" });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("records the answer once, its bytes intact, and sends nothing again", async () => {
    const account = await server.newAccount();
    const api = specClient(server.url, { authorization: `Bearer ${account.key}` });
    const ids: string[] = [];
    const app = createServer((req, res) => {
      ids.push(String(req.headers["webhook-id"]));
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" }).end(Buffer.from("ok\0", "latin1"));
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const cli = startProcess(CLI, ["listen", "--forward-to", `http://127.0.0.1:${(app.address() as AddressInfo).port}/`, "--url", server.url], {
      HOOKLINE_API_KEY: account.key,
      HOOKLINE_DATA_DIR: "memory://",
    });
    try {
      await cli.waitFor(/signing secret is (whsec_\S+)/, 60_000);
      const sessionId = Number(cli.stdout().match(/listen session (\d+)/)![1]);
      expect((await api.call("POST", "/v1/events", { body: { type: "poison.nul", data: { n: 1 } } })).status).toBe(202);
      const [delivery] = await eventually(async () => {
        const list = await api.call("GET", `/v1/hooks/${sessionId}/deliveries`);
        return list.body.length === 1 && list.body[0].status === "succeeded" ? list.body : undefined;
      }, 30_000, "the delivery recorded as succeeded");
      const detail = await api.call("GET", `/v1/deliveries/${delivery.id}`);
      expect(detail.body.attempts).toHaveLength(1);
      expect(detail.body.attempts[0]).toMatchObject({ response_status: 200, response_body_encoding: "base64", response_body: Buffer.from("ok\0", "latin1").toString("base64") });
      // Nothing is sent again: one webhook-id, once (a moment for a resend to show).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(ids).toHaveLength(1);
      expect(cli.stdout() + cli.output()).not.toContain("Could not report");
    } finally {
      cli.child.kill("SIGINT");
      await cli.exited;
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  }, 120_000);
});
