import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/delivery.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { rawReceiver } from "../support/raw-receiver.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { CLI, startProcess } from "./run-hookline.js";

const withBody = (head: string, body: Buffer) => Buffer.concat([Buffer.from(`${head}\r\ncontent-length: ${body.length}\r\n\r\n`, "latin1"), body]);

/**
 * The unusual-receiver and poison-answer kinds (issue 25) in listen mode:
 * the CLI forwarded with fetch, not the worker's transport, so a local app
 * answering an unasked `100 Continue`, a `204` with a Content-Length, or a
 * body labelled gzip that is not gzip had its delivery recorded as failed
 * (and sent again, same `webhook-id`) although it had processed it; a
 * gzip bomb was decoded whole in the CLI's memory; of repeated `Set-Cookie`
 * headers only the last was logged; and an answer with more than 200
 * headers, a header over 8 KiB, a status above 599 or a body with a NUL
 * byte (which PostgreSQL text cannot hold) made a report the results
 * operation refused, so the delivery was sent again for ever. The
 * CLI's forward is one attempt of the worker's transport, reported within
 * the operation's bounds: each answer below is recorded once, as the worker
 * records it.
 */
describe.each(testBackends().slice(0, 1))("hookline listen, an app speaking unusual HTTP ($kind)", (backend) => {
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

  const answers: Record<string, { answer: string | Buffer; attempt: Record<string, unknown>; headers?: Record<string, string>; status?: string }> = {
    "100 then 200, two Set-Cookie": {
      answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 4\r\n\r\ndone",
      attempt: { response_status: 200, response_body: "done" },
      headers: { "set-cookie": "a=1, b=2" },
    },
    "204 with Content-Length": { answer: "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n", attempt: { response_status: 204, response_body: "" } },
    "labelled gzip, not gzip": {
      answer: withBody("HTTP/1.1 200 OK\r\ncontent-encoding: gzip", Buffer.from("not gzip")),
      attempt: { response_status: 200, response_body: "not gzip" },
    },
    "300 headers": {
      answer: `HTTP/1.1 200 OK\r\n${Array.from({ length: 300 }, (_, i) => `x-h${i}: v`).join("\r\n")}\r\ncontent-length: 2\r\n\r\nok`,
      attempt: { response_status: 200, response_body: "ok" },
      headers: { "x-h0": "v" },
    },
    "a 10,000-character header": {
      answer: `HTTP/1.1 200 OK\r\nx-long: ${"l".repeat(10_000)}\r\ncontent-length: 2\r\n\r\nok`,
      attempt: { response_status: 200, response_body: "ok" },
    },
    "status 999": { answer: "HTTP/1.1 999 Odd\r\ncontent-length: 3\r\n\r\nodd", attempt: { response_status: 999, response_body: "odd", error: "HTTP 999" }, status: "failed" },
    // The poison-answer kind: PostgreSQL text cannot hold a NUL byte, and the CLI's report was refused (a 400), so the delivery was sent again for ever.
    "a NUL byte in the body": {
      answer: withBody("HTTP/1.1 200 OK\r\ncontent-type: text/plain", Buffer.from("ok\0", "latin1")),
      attempt: { response_status: 200, response_body_encoding: "base64", response_body: Buffer.from("ok\0", "latin1").toString("base64") },
    },
    // A header named after an Object.prototype member: zod's record dropped `__proto__` from the report unread.
    "a __proto__ header": {
      answer: "HTTP/1.1 200 OK\r\n__proto__: p\r\nconstructor: c\r\ncontent-length: 2\r\n\r\nok",
      attempt: { response_status: 200, response_body: "ok" },
      headers: { ["__proto__"]: "p", constructor: "c" },
    },
    "gzip bomb": {
      answer: withBody("HTTP/1.1 200 OK\r\ncontent-encoding: gzip", gzipSync(Buffer.alloc(64 * 1024 * 1024, "a"))),
      attempt: { response_status: 200, response_body: "a".repeat(4096) },
    },
  };

  it("records each answer once, as the worker would, and sends nothing again", async () => {
    const account = await server.newAccount();
    const api = specClient(server.url, { authorization: `Bearer ${account.key}` });
    const app = await rawReceiver((request) => {
      const { kind } = JSON.parse(request.body) as { kind: string };
      return answers[kind]!.answer;
    });
    const cli = startProcess(CLI, ["listen", "--forward-to", app.url, "--url", server.url], { HOOKLINE_API_KEY: account.key, HOOKLINE_DATA_DIR: "memory://" });
    try {
      await cli.waitFor(/signing secret is (whsec_\S+)/, 60_000);
      const sessionId = Number(cli.stdout().match(/listen session (\d+)/)![1]);
      for (const kind of Object.keys(answers)) {
        expect((await api.call("POST", "/v1/events", { body: { type: "unusual.app", data: { kind } } })).status).toBe(202);
      }
      const deliveries = await eventually(async () => {
        const list = await api.call("GET", `/v1/hooks/${sessionId}/deliveries`);
        return list.body.length === Object.keys(answers).length && list.body.every((d: { attempt_count: number }) => d.attempt_count >= 1) ? list.body : undefined;
      }, 60_000, "an attempt of each delivery recorded");
      for (const delivery of deliveries) {
        const detail = await api.call("GET", `/v1/deliveries/${delivery.id}`);
        const kind = JSON.parse(detail.body.attempts[0].request_body ?? JSON.stringify((await api.call("GET", `/v1/events/${detail.body.event_id}`)).body.data)).kind as string;
        expect(detail.body.status === "succeeded" ? "succeeded" : "failed", `${kind}: ${JSON.stringify(detail.body.attempts).slice(0, 2000)}`).toBe(answers[kind]!.status ?? "succeeded");
        expect(detail.body.attempts).toHaveLength(1);
        expect(detail.body.attempts[0], kind).toMatchObject(answers[kind]!.attempt);
        // As entries: an expected `__proto__` own property would not be compared by toMatchObject.
        expect(Object.entries(detail.body.attempts[0].response_headers), kind).toEqual(expect.arrayContaining(Object.entries(answers[kind]!.headers ?? {})));
      }
      // Nothing is sent again: each webhook-id once (a moment for a resend to show).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(new Set(app.requests.map((r) => r.webhookId)).size).toBe(Object.keys(answers).length);
      expect(app.requests).toHaveLength(Object.keys(answers).length);
      expect(cli.stdout() + cli.output()).not.toContain("Could not report");
    } finally {
      cli.child.kill("SIGINT");
      await cli.exited;
      await app.close();
    }
  }, 120_000);
});
