import { ConfigError, loadConfig } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

function configMessage(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

// One vocabulary for what is wrong ("is required", "must be …"), whichever
// checker found it — zod on request fields, ajv on event data, the config
// loader on settings — and refusals name the setting that lifts them.
describe("settings", () => {
  it("name the variable in the same vocabulary", () => {
    expect(configMessage({ PORT: "abc" })).toBe("PORT must be a number");
    expect(configMessage({ PORT: "70000" })).toBe("PORT must be at most 65535");
    expect(configMessage({ HOOKLINE_ROLE: "all" })).toBe('HOOKLINE_ROLE must be one of: "api", "worker", "both"');
  });
});

describe.each(testBackends())("error messages ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database, { HOOKLINE_ALLOW_PRIVATE_TARGETS: "false" });
    api = specClient(server.url, { authorization: `Bearer ${(await server.newAccount()).key}` });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("a missing request field reads 'is required', a wrong one 'must be …'", async () => {
    const { status, body } = await api.call("POST", "/v1/hooks", { body: { events: "build:*" } });
    expect(status).toBe(400);
    expect(body.errors).toEqual(expect.arrayContaining([
      { path: "body.url", message: "is required" },
      { path: "body.events", message: "must be an array" },
    ]));
  });

  it("a missing field of an event's data reads 'is required' at its path", async () => {
    const { status, body } = await api.call("POST", "/v1/events", { body: { type: "build:complete", data: { status: "succeeded" } } });
    expect(status).toBe(400);
    expect(body.errors).toContainEqual({ path: "body.data.ended_at", message: "is required" });
  });

  it("the private-target refusal names HOOKLINE_ALLOW_PRIVATE_TARGETS", async () => {
    const { status, body } = await api.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/private", events: ["*"] } });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain("HOOKLINE_ALLOW_PRIVATE_TARGETS=true");
  });
});
