import { createApp, createLogger, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardClient } from "../support/dashboard-session.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_ADMIN_TOKEN, TEST_MAIN_SECRET } from "../support/server.js";

/*
 * The kind: internal rows leaking into public listings. A listen session
 * (`hookline listen`) is stored as a hook with `listen_expires_at` set, so it
 * reuses the delivery path; it showed up as a hook in GET /v1/hooks, in the
 * seed profiles' hook lists, in the dashboard's and portal's hook lists, and
 * could be read, edited, rotated or deleted as a hook by id. Now no listing
 * or count shows it, and every hook operation on its id is a 404: it is
 * reached through /v1/listen-sessions only (store/hooks.ts, PUBLIC_HOOKS).
 */
const ORIGIN = "http://hookline.test";
const FORWARD = "http://localhost:3000/internal-row-marker";

describe.each(testBackends())("internal rows stay out of public listings ($kind)", (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof createApp>;
  let account: { id: string; key: string };
  let session: number;
  let hook: number;

  const call = (method: string, path: string, options: { body?: unknown; auth?: string } = {}) =>
    app.request(`${ORIGIN}${path}`, {
      method,
      headers: { authorization: options.auth ?? `Bearer ${account.key}`, "content-type": "application/json" },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });

  beforeAll(async () => {
    database = await backend.create();
    const config = loadConfig({ PORT: "0", HOOKLINE_ALLOW_PRIVATE_TARGETS: "true", LOG_LEVEL: "silent", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    app = createApp({ store: database.store, config, logger: createLogger("silent") });
    const row = await insertAccount(database.store.db, "internal rows");
    account = { id: row.id, key: (await issueApiKey(database.store, row.id, "k")).key };
    hook = ((await (await call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/real", events: ["*"], name: "real hook" } })).json()) as { id: number }).id;
    const created = await call("POST", "/v1/listen-sessions", { body: { forward_to: FORWARD } });
    expect(created.status).toBe(201);
    session = ((await created.json()) as { id: number }).id;
  }, 180_000);
  afterAll(() => database?.dispose());

  const idsOf = (body: unknown): number[] => {
    const list = Array.isArray(body) ? body : ((body as { data?: unknown[]; hooks?: unknown[] }).data ?? (body as { hooks?: unknown[] }).hooks ?? []);
    return (list as Array<{ id: number | string }>).map((h) => Number(h.id));
  };

  it("no API hook listing shows a listen session: /v1/hooks (with each filter), Kudu, lopennaef, Kazoo", async () => {
    const basic = `Basic ${Buffer.from(`u:${account.key}`).toString("base64")}`;
    const listings = [
      ["/v1/hooks", undefined],
      ["/v1/hooks?event=build:done", undefined],
      ["/v1/hooks?is_active=true", undefined],
      ["/api/hooks", basic],
      ["/hooks", undefined],
      [`/v1/accounts/${account.id}/webhooks`, undefined],
    ] as const;
    for (const [path, auth] of listings) {
      const response = await call("GET", path, { auth });
      expect(response.status, path).toBe(200);
      const ids = idsOf(await response.json());
      expect(ids, path).toContain(hook);
      expect(ids, path).not.toContain(session);
    }
  });

  it("every hook operation on a listen session's id is a 404, and the session itself still works", async () => {
    const basic = `Basic ${Buffer.from(`u:${account.key}`).toString("base64")}`;
    const operations: Array<[string, string, unknown?, string?]> = [
      ["GET", `/v1/hooks/${session}`],
      ["PATCH", `/v1/hooks/${session}`, { name: "taken over" }],
      ["PUT", `/v1/hooks/${session}`, { url: "http://127.0.0.1:9/x", events: ["*"] }],
      ["GET", `/v1/hooks/${session}/secret`],
      ["POST", `/v1/hooks/${session}/secret/rotate`, {}],
      ["POST", `/v1/hooks/${session}/recover`, { since: "2026-01-01T00:00:00Z" }],
      ["GET", `/api/hooks/${session}`, undefined, basic],
      ["GET", `/hooks/${session}`],
      ["GET", `/v1/accounts/${account.id}/webhooks/${session}`],
      ["DELETE", `/api/hooks/${session}`, undefined, basic],
      ["DELETE", `/v1/hooks/${session}`],
    ];
    for (const [method, path, body, auth] of operations) {
      const response = await call(method, path, { body, auth });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    const row = await database.store.db.selectFrom("hooks").select(["name", "listen_expires_at"]).where("id", "=", session).executeTakeFirst();
    expect(row?.listen_expires_at).not.toBeNull();
    expect(row?.name).toContain(FORWARD);
    // Documented (spec ListenSession, README): the session's delivery log is read with the hook's log operation.
    expect((await call("GET", `/v1/hooks/${session}/deliveries`)).status).toBe(200);
    expect((await call("DELETE", `/v1/listen-sessions/${session}`)).status).toBe(204);
    // Recreated for the page checks below.
    session = ((await (await call("POST", "/v1/listen-sessions", { body: { forward_to: FORWARD } })).json()) as { id: number }).id;
  });

  it("the dashboard's and the portal's hook lists show no listen session, and its page is a 404", async () => {
    const s = await dashboardClient(app, ORIGIN).session(account.key);
    const list = await (await s.get("/dashboard/hooks")).text();
    expect(list).toContain("real hook");
    expect(list).not.toContain(FORWARD);
    expect(list).not.toContain(`/dashboard/hooks/${session}"`);
    expect((await s.get(`/dashboard/hooks/${session}`)).status).toBe(404);

    const link = (await (await call("POST", `/v1/accounts/${account.id}/portal-sessions`, { auth: `Bearer ${TEST_ADMIN_TOKEN}`, body: {} })).json()) as { url: string };
    const start = await app.request(link.url.replace(/^http:\/\/[^/]+/, ORIGIN));
    const portal = await dashboardClient(app, ORIGIN).withCookie(start.headers.get("set-cookie")!.split(";")[0]!, "/portal/hooks");
    const portalList = await (await portal.get("/portal/hooks")).text();
    expect(portalList).toContain("real hook");
    expect(portalList).not.toContain(FORWARD);
    expect((await portal.get(`/portal/hooks/${session}`)).status).toBe(404);
  });
});
