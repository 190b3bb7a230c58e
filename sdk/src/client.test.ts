import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { testBackends, type TestDatabase } from "../../test/support/databases.js";
import { startTestServer, type TestServer } from "../../test/support/server.js";
import { createClient, type HooklineClient, type Problem } from "./client.js";

// The expectTypeOf checks below bite under `pnpm typecheck` (tsc, which CI runs),
// not under `vitest run`, which only executes them: a wrong type passes here and fails there.

const RECEIVER = "http://127.0.0.1:9/in";

describe.each(testBackends())("createClient against a live server on $kind", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let hookline: HooklineClient;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    hookline = createClient({ baseUrl: server.url, apiKey: (await server.newAccount()).key });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("creates, reads, patches and deletes a hook with typed calls", async () => {
    const created = await hookline.POST("/v1/hooks", { body: { url: RECEIVER, events: ["build:complete"], name: "ci" } });
    expect(created.response.status).toBe(201);
    const id = created.data!.id;
    expect(created.data!.secret).toMatch(/^whsec_/);
    expectTypeOf(created.data!.secret).toEqualTypeOf<string>();

    const read = await hookline.GET("/v1/hooks/{id}", { params: { path: { id } } });
    expect(read.data).toMatchObject({ id, url: RECEIVER, events: ["build:complete"], name: "ci" });

    const patched = await hookline.PATCH("/v1/hooks/{id}", { params: { path: { id } }, body: { is_active: false } });
    expect(patched.data?.is_active).toBe(false);

    const deleted = await hookline.DELETE("/v1/hooks/{id}", { params: { path: { id } } });
    expect(deleted.response.ok).toBe(true);
    const gone = await hookline.GET("/v1/hooks/{id}", { params: { path: { id } } });
    expect(gone.response.status).toBe(404);
  });

  it("returns errors as typed problem documents", async () => {
    const missing = await hookline.GET("/v1/hooks/{id}", { params: { path: { id: 2_000_000_000 } } });
    expectTypeOf(missing.error).toEqualTypeOf<Problem | undefined>();
    expect(missing.error).toMatchObject({ status: 404, title: expect.any(String), type: expect.any(String) });
    expect(missing.response.headers.get("content-type")).toMatch(/^application\/problem\+json/);

    const invalid = await hookline.POST("/v1/hooks", { body: { url: "not a url", events: ["*"] } });
    expect(invalid.error?.status).toBe(400);
    expect(invalid.error?.errors?.map((e) => e.path)).toContain("body.url");
  });

  it("sends the key as Authorization: Bearer (a wrong key is refused)", async () => {
    const stranger = createClient({ baseUrl: server.url, apiKey: "not-a-key" });
    const { error, response } = await stranger.GET("/v1/hooks");
    expect(response.status).toBe(401);
    expect(error?.status).toBe(401);
  });
});

describe("createClient: missing options", () => {
  it.each(["baseUrl", "apiKey"] as const)("names a missing %s", (name) => {
    const options = { baseUrl: "http://127.0.0.1:1", apiKey: "hkl_x", [name]: undefined };
    expect(() => createClient(options as never)).toThrow(new RegExp(`the \`${name}\` option is required`));
  });
});
