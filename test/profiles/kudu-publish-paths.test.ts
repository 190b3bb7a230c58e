import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { specClient } from "../support/spec-client.js";
import { received, startProfileFixture, type ProfileFixture } from "./profile-checks.js";

/**
 * Kudu's publish operation at the two other paths its documents give it:
 * seed 001's `/api/hooks/hooks/publish/{hookType}` and early Kudu's
 * `/hooks/publish/{hookType}` (seed 000, HTTP Basic), the latter beside
 * lopennaef's `/hooks`, which keeps answering as lopennaef.
 */
describe("Kudu publish paths (pglite)", () => {
  let fixture: ProfileFixture;

  beforeAll(async () => {
    fixture = await startProfileFixture(testBackends()[0]!);
  });
  afterAll(() => fixture?.close());

  it("publishes through both paths to the type's subscribers; lopennaef's /hooks is unchanged", async () => {
    const { server, receiver } = fixture;
    const account = await server.newAccount("kudu-paths");
    const basic = specClient(server.url, { authorization: `Basic ${Buffer.from(`deploy:${account.key}`).toString("base64")}` });
    const hook = await basic.call("POST", "/api/hooks", { body: { url: `${receiver.url}/deployed`, event: "PostDeployment", insecure_ssl: false } });
    expect(hook.status).toBe(201);

    // Seed 000's deployment body (PostDeployment is a built-in type: its schema is checked).
    const deployment = (id: string) => ({
      id, status: "success", author_email: "someone@somewhere.com", author: "Some One",
      message: "My fix", deployer: "Some One", start_time: "2013-06-06T01:24:16.5873293Z", end_time: "2013-06-06T01:24:17.63342Z",
    });
    expect((await basic.call("POST", "/api/hooks/hooks/publish/PostDeployment", { body: deployment("documented") })).status).toBe(200);
    expect((await basic.call("POST", "/hooks/publish/PostDeployment", { body: deployment("early") })).status).toBe(200);
    const calls = await received(receiver, (r) => r.url === "/deployed" && JSON.parse(r.body).id === "early");
    expect(calls).toHaveLength(1);
    await received(receiver, (r) => r.url === "/deployed" && JSON.parse(r.body).id === "documented");

    // Without credentials the early path is refused like every other.
    expect((await fetch(`${server.url}/hooks/publish/PostDeployment`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status).toBe(401);
    const lopennaef = specClient(server.url, { authorization: `Bearer ${account.key}` });
    const listed = await lopennaef.call("GET", "/hooks");
    expect(listed.status).toBe(200);
    expect(listed.body[0]).toHaveProperty("callback_url", `${receiver.url}/deployed`);
  });

  it("refuses a blank body on each publish path with a 400 naming the body, and stores no event (the fuzz suite found a 500)", async () => {
    const { server } = fixture;
    const account = await server.newAccount("kudu-blank");
    const api = specClient(server.url, { authorization: `Bearer ${account.key}` });
    // A hook of every type: a stored event would be a delivery, so "nothing written" is visible.
    expect((await api.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/none", events: ["*"] } })).status).toBe(201);
    for (const path of ["/api/hooks/publish/t.blank", "/api/hooks/hooks/publish/t.blank", "/hooks/publish/t.blank"]) {
      for (const body of ["", "  \n"]) {
        const response = await fetch(`${server.url}${path}`, { method: "POST", body, headers: { authorization: `Bearer ${account.key}`, "content-type": "application/json" } });
        expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect(response.headers.get("content-type")).toContain("application/problem+json");
        const problem = await response.json();
        // The validator's own refusal ("Malformed JSON in request body") or the handler's, naming `body`.
        const named = problem.errors?.map((e: { path: string }) => e.path).join() ?? problem.detail;
        expect(named, `${path} ${JSON.stringify(problem)}`).toMatch(/body/);
      }
    }
    const events = await api.call("GET", "/v1/events");
    expect(events.status).toBe(200);
    expect(Array.isArray(events.body) ? events.body : events.body.items ?? events.body.events, JSON.stringify(events.body)).toEqual([]);
  });
});
