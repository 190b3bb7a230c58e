import { Writable } from "node:stream";
import { createLogger } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

// Logs are JSON lines with a request id, and no secret ever reaches them:
// not API keys, not signing secrets, not the admin token.
describe.each(testBackends())("structured logs ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  const lines: string[] = [];

  beforeAll(async () => {
    database = await backend.create();
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(...String(chunk).trim().split("\n")), done()) });
    server = await startTestServer(database, {}, { logger: createLogger("trace", sink) });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("logs every request as JSON with a request id and nothing secret", async () => {
    const { key } = await server.newAccount();
    const api = specClient(server.url, { authorization: `Bearer ${key}` });
    const secret = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci1sb2dz";
    const { body } = await api.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/x", events: ["*"], secret } });
    await api.call("GET", `/v1/hooks/${body.id}/secret`);
    const rotated = await api.call("POST", `/v1/hooks/${body.id}/secret/rotate`, { body: {} });
    await api.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/x", events: ["*"], secret: "whsec_!!" } });

    const entries = lines.map((line) => JSON.parse(line));
    const requests = entries.filter((entry) => entry.msg === "request");
    expect(requests.length).toBeGreaterThanOrEqual(4);
    for (const entry of requests) expect(entry.request_id).toEqual(expect.any(String));
    const everything = lines.join("\n");
    for (const leaked of [key, secret, rotated.body.secret, "whsec_!!"]) expect(everything).not.toContain(leaked);
  });

  it("does not log probes of /healthz, /readyz and /metrics at info", async () => {
    const infoLines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (infoLines.push(...String(chunk).trim().split("\n")), done()) });
    const quiet = await startTestServer(database, {}, { logger: createLogger("info", sink) });
    try {
      for (const probe of ["/healthz", "/readyz", "/metrics"]) expect((await fetch(quiet.url + probe)).status).toBe(200);
      await fetch(`${quiet.url}/v1/hooks`);
      const paths = infoLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "request").map((entry) => entry.path);
      expect(paths).toEqual(["/v1/hooks"]);
    } finally {
      await quiet.close();
    }
  });
});
