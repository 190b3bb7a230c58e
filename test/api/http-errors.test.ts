import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

describe.each(testBackends())("HTTP errors are problem+json ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let key: string;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database, { HOOKLINE_BODY_LIMIT_BYTES: "2048" });
    key = (await server.newAccount()).key;
    api = specClient(server.url, { authorization: `Bearer ${key}` });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const expectProblem = (response: { status: number; headers: Headers; body: any }, status: number, kind: string) => {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: `https://hookline.dev/problems/${kind}`, status });
    expect(response.body.title).toEqual(expect.any(String));
  };

  it("malformed JSON → 400", async () => {
    const response = await api.call("POST", "/v1/hooks", { rawBody: '{"url": ', headers: { "content-type": "application/json" } });
    expectProblem(response, 400, "malformed-request");
  });

  it("a body that cannot be read as JSON — broken, only whitespace, not UTF-8 — is a 400 naming `body` in errors, on /v1 and the profiles", async () => {
    const bodies: Array<[string, string | Buffer]> = [
      ["broken", '{"url": '],
      ["whitespace", "  \n"],
      ["trailing text", '{"url":"http://127.0.0.1:9/x","events":["*"]} x'],
      ["not UTF-8", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
    ];
    for (const path of ["/v1/hooks", "/v1/events", "/hooks", "/api/hooks/publish/PostDeployment"]) {
      for (const [name, rawBody] of bodies) {
        // Basic: early Kudu's `/hooks` and Kudu's publish; the key either way.
        const authorization = path.startsWith("/v1") ? `Bearer ${key}` : `Basic ${Buffer.from(`deployer:${key}`).toString("base64")}`;
        const answer = await fetch(`${server.url}${path}`, { method: "POST", body: typeof rawBody === "string" ? rawBody : new Uint8Array(rawBody), headers: { authorization, "content-type": "application/json" } });
        const response = { status: answer.status, headers: answer.headers, body: await answer.json() };
        expectProblem(response, 400, "malformed-request");
        expect(response.body.errors, `${path} ${name}: ${JSON.stringify(response.body)}`).toEqual([{ path: "body", message: expect.any(String) }]);
      }
    }
  });

  it("a body that is not JSON → 415", async () => {
    const response = await api.call("POST", "/v1/hooks", { rawBody: "url=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expectProblem(response, 415, "unsupported-media-type");
  });

  it("a missing body where one is required → 400 naming the required fields", async () => {
    const response = await api.call("POST", "/v1/hooks");
    expectProblem(response, 400, "validation");
    expect(response.body.errors.map((e: { path: string }) => e.path)).toEqual(["body.url", "body.events"]);
  });

  it("a body over the limit → 413", async () => {
    const big = { url: "http://127.0.0.1:9/x", events: ["*"], name: "x".repeat(4000) };
    expectProblem(await api.call("POST", "/v1/hooks", { body: big }), 413, "payload-too-large");
  });

  it("a chunked body (no Content-Length) over the limit → 413, under it → read as usual", async () => {
    const send = async (text: string) => {
      const body = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(text)), c.close()) });
      const response = await fetch(`${server.url}/v1/hooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      return { status: response.status, type: response.headers.get("content-type"), body: await response.json() };
    };
    const big = await send(JSON.stringify({ url: "http://127.0.0.1:9/x", events: ["*"], name: "x".repeat(4000) }));
    expect(big).toMatchObject({ status: 413, type: "application/problem+json", body: { type: "https://hookline.dev/problems/payload-too-large" } });
    const small = await send(JSON.stringify({ url: "http://127.0.0.1:9/chunked", events: ["*"] }));
    expect(small).toMatchObject({ status: 201, body: { url: "http://127.0.0.1:9/chunked" } });
  });

  it("an unknown route → 404, a wrong method → 405 with Allow", async () => {
    expectProblem(await api.call("GET", "/v1/nothing-here", { unchecked: true }), 404, "not-found");
    const wrong = await api.call("POST", "/v1/hooks/1/secret", { unchecked: true, body: {} });
    expectProblem(wrong, 405, "method-not-allowed");
    expect(wrong.headers.get("allow")).toBe("GET");
  });

  it("a missing or unknown API key → 401; so does a key used for admin operations", async () => {
    expectProblem(await specClient(server.url).call("GET", "/v1/hooks"), 401, "unauthorized");
    expectProblem(await specClient(server.url, { "x-auth-token": "hkl_nope" }).call("GET", "/v1/hooks"), 401, "unauthorized");
    expectProblem(await api.call("POST", "/v1/accounts", { body: { name: "x" } }), 401, "unauthorized");
  });

  it("a path id that is not a positive integer → 400 naming path.id", async () => {
    const response = await api.call("GET", "/v1/hooks/abc");
    expectProblem(response, 400, "validation");
    expect(response.body.errors[0].path).toBe("path.id");
  });

  it("a query value out of range → 400 naming query.limit", async () => {
    const response = await api.call("GET", "/v1/hooks?limit=0");
    expectProblem(response, 400, "validation");
    expect(response.body.errors[0].path).toBe("query.limit");
  });
});
