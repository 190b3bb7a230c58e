import { createApp, createLogger, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardClient } from "../support/dashboard-session.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_ADMIN_TOKEN, TEST_MAIN_SECRET } from "../support/server.js";

const ORIGIN = "http://hookline.test";

/** Issue 21's portal rules through app.request(): one-time links, cookie flags, framing, scope, CSRF. */
describe.each(testBackends())("customer portal safety on $kind", (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof createApp>;
  let a: { id: string; key: string; hook: number; delivery: number };
  let b: { id: string; key: string; hook: number; delivery: number };

  const call = (method: string, path: string, auth: string, body?: unknown) =>
    app.request(`${ORIGIN}${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  async function customer(name: string) {
    const account = await insertAccount(database.store.db, name);
    const key = (await issueApiKey(database.store, account.id, "k")).key;
    const hook = (await (await call("POST", "/v1/hooks", key, { url: `http://127.0.0.1:9/${name}`, events: ["*"], name: `${name} hook` })).json()) as { id: number };
    await call("POST", "/v1/events", key, { type: "invoice.paid", data: { who: `${name}-paid` } });
    await call("POST", "/v1/events", key, { type: "invoice.failed", data: { who: `${name}-failed` } });
    const delivery = await database.store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hook.id).orderBy("id").executeTakeFirstOrThrow();
    return { id: account.id, key, hook: hook.id, delivery: delivery.id };
  }

  /** Makes a link (admin) and opens it: the cookie and a client for the portal session. */
  async function open(accountId: string, options: Record<string, unknown> = {}) {
    const link = (await (await call("POST", `/v1/accounts/${accountId}/portal-sessions`, TEST_ADMIN_TOKEN, options)).json()) as { url: string };
    const start = await app.request(link.url.replace(/^http:\/\/[^/]+/, ORIGIN));
    expect(start.status).toBe(303);
    const cookie = start.headers.get("set-cookie")!;
    const session = await dashboardClient(app, ORIGIN).withCookie(cookie.split(";")[0]!, "/portal/hooks");
    return { link: link.url, setCookie: cookie, ...session };
  }

  beforeAll(async () => {
    database = await backend.create();
    const config = loadConfig({ PORT: "0", HOOKLINE_ALLOW_PRIVATE_TARGETS: "true", LOG_LEVEL: "silent", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    app = createApp({ store: database.store, config, logger: createLogger("silent") });
    a = await customer("alpha");
    b = await customer("bravo");
  }, 180_000);
  afterAll(() => database?.dispose());

  it("opens a link once, into a cookie that works in a cross-site frame, and refuses it again or once expired", async () => {
    const s = await open(a.id);
    expect(s.setCookie).toMatch(/^hookline_portal=[A-Za-z0-9_-]{43};/);
    for (const flag of ["HttpOnly", "Secure", "SameSite=None", "Partitioned", "Path=/portal"]) expect(s.setCookie).toContain(flag);
    const again = await app.request(s.link.replace(/^http:\/\/[^/]+/, ORIGIN));
    expect(again.status).toBe(403);
    expect(again.headers.get("set-cookie")).toBeNull();
    expect(await again.text()).toContain("expired or was already used");

    const link = (await (await call("POST", "/v1/portal-sessions", a.key, { ttl_seconds: 60 })).json()) as { url: string };
    await database.store.db.updateTable("portal_sessions").set({ link_expires_at: new Date(Date.now() - 1000) }).where("redeemed_at", "is", null).execute();
    expect((await app.request(link.url.replace(/^http:\/\/[^/]+/, ORIGIN))).status).toBe(403);
    expect((await app.request(`${ORIGIN}/portal/start?token=not-a-token`)).status).toBe(403);
  });

  it("stores link and session tokens only as hashes", async () => {
    const s = await open(a.id);
    const token = new URL(s.link).searchParams.get("token")!;
    const cookieValue = s.cookie.split("=")[1]!;
    const rows = JSON.stringify(await database.store.db.selectFrom("portal_sessions").selectAll().execute());
    expect(rows).not.toContain(token);
    expect(rows).not.toContain(cookieValue);
  });

  it("is framed only by the account's allowed origins, and sends no X-Frame-Options", async () => {
    const s = await open(a.id);
    const before = await s.get("/portal/hooks");
    expect(before.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const settings = { frame_ancestors: ["http://localhost:4000", "https://app.example.com"], brand_name: "Acme Billing", brand_color: "#0b7a75" };
    expect((await call("PUT", `/v1/accounts/${a.id}/portal-settings`, TEST_ADMIN_TOKEN, settings)).status).toBe(200);
    const after = await s.get("/portal/hooks");
    expect(after.headers.get("content-security-policy")).toContain("frame-ancestors http://localhost:4000 https://app.example.com");
    expect(after.headers.get("x-frame-options")).toBeNull();
    const html = await after.text();
    expect(html).toContain("Acme Billing");
    expect(html).not.toContain("API keys");
    expect(await (await s.get("/portal/brand.css")).text()).toContain("--accent: #0b7a75");
    // Only an admin sets them; an account's key cannot.
    expect((await call("PUT", `/v1/accounts/${a.id}/portal-settings`, a.key, settings)).status).toBe(401);
  });

  it("never reaches another account, API keys, the dashboard or the API", async () => {
    const s = await open(a.id);
    expect(await (await s.get("/portal/hooks")).text()).not.toContain("bravo");
    for (const path of [`/portal/hooks/${b.hook}`, `/portal/deliveries/${b.delivery}`, `/portal/hooks/${b.hook}/edit`, "/portal/keys"]) expect((await s.get(path)).status, path).toBe(404);
    expect((await s.post(`/portal/hooks/${b.hook}/pause`)).status).toBe(404);
    expect((await s.post("/portal/keys", { name: "x" })).status).toBe(404);
    expect((await s.get("/dashboard/hooks")).status).toBe(303);
    expect((await s.get("/v1/hooks")).status).toBe(401);
  });

  it("keeps CSRF protection: no token, another session's token or another origin is refused", async () => {
    const s = await open(a.id);
    const other = await open(a.id);
    const post = dashboardClient(app, ORIGIN).post;
    expect((await post(`/portal/hooks/${a.hook}/pause`, {}, { origin: ORIGIN, cookie: s.cookie })).status).toBe(403);
    expect((await post(`/portal/hooks/${a.hook}/pause`, { _csrf: other.csrf }, { origin: ORIGIN, cookie: s.cookie })).status).toBe(403);
    expect((await post(`/portal/hooks/${a.hook}/pause`, { _csrf: s.csrf }, { origin: "http://localhost:4000", cookie: s.cookie })).status).toBe(403);
    const active = await database.store.db.selectFrom("hooks").select("is_active").where("id", "=", a.hook).executeTakeFirstOrThrow();
    expect(active.is_active).toBe(true);
  });

  it("a session limited to some event types neither sees nor changes a hook that reaches other types", async () => {
    const inScope = (await (await call("POST", "/v1/hooks", a.key, { url: "http://127.0.0.1:9/paid-only", events: ["invoice.paid"], name: "paid only" })).json()) as { id: number };
    const otherType = (await (await call("POST", "/v1/hooks", a.key, { url: "http://127.0.0.1:9/other", events: ["r2.x"], name: "other type" })).json()) as { id: number };
    const s = await open(a.id, { event_types: ["invoice.paid"] });
    const list = await (await s.get("/portal/hooks")).text();
    expect(list).toContain("paid only");
    expect(list).not.toContain("other type");
    expect(list).not.toContain("alpha hook"); // on "*": it takes every other type too
    for (const hook of [a.hook, otherType.id]) {
      for (const path of [`/portal/hooks/${hook}`, `/portal/hooks/${hook}/edit`]) expect((await s.get(path)).status, path).toBe(404);
      for (const action of ["pause", "rotate-secret", "delete", "recover"]) {
        expect((await s.post(`/portal/hooks/${hook}/${action}`, { confirm: "yes", since: "2026-01-01T00:00" })).status, `${action} ${hook}`).toBe(404);
      }
      expect((await s.post(`/portal/hooks/${hook}/edit`, { url: "http://127.0.0.1:9/exfil", events: "invoice.paid" })).status).toBe(404);
    }
    const untouched = await database.store.db.selectFrom("hooks").select(["id", "url", "is_active"]).where("id", "in", [a.hook, otherType.id]).orderBy("id").execute();
    expect(untouched).toEqual([
      { id: a.hook, url: "http://127.0.0.1:9/alpha", is_active: true },
      { id: otherType.id, url: "http://127.0.0.1:9/other", is_active: true },
    ]);
    // Its own hook it may still manage.
    expect((await s.get(`/portal/hooks/${inScope.id}`)).status).toBe(200);
    expect((await s.post(`/portal/hooks/${inScope.id}/pause`)).status).toBe(303);
  });

  it("read-only shows no change and takes none; event types limit what is shown", async () => {
    const s = await open(a.id, { read_only: true, event_types: ["invoice.paid"] });
    const hookPage = await (await s.get(`/portal/hooks/${a.hook}`)).text();
    expect(hookPage).not.toContain(">Pause<");
    expect(hookPage).not.toContain("Send test event");
    expect((await s.post(`/portal/hooks/${a.hook}/pause`)).status).toBe(403);
    const events = await (await s.get("/portal/events")).text();
    expect(events).toContain("invoice.paid");
    expect(events).not.toContain("invoice.failed");
    const failed = await database.store.db
      .selectFrom("deliveries").innerJoin("events", "events.id", "deliveries.event_id").select("deliveries.id")
      .where("deliveries.hook_id", "=", a.hook).where("events.type", "=", "invoice.failed").executeTakeFirstOrThrow();
    expect((await s.get(`/portal/deliveries/${failed.id}`)).status).toBe(404);
  });

  it("answers a search or form field PostgreSQL cannot store (U+0000) with a 400 naming it, not a 500", async () => {
    const s = await open(a.id);
    const search = await s.get("/portal/events?q=msg_%00");
    expect(search.status).toBe(400);
    expect(await search.text()).toContain("query.q");
    const edit = await s.post(`/portal/hooks/${a.hook}/edit`, { url: "http://127.0.0.1:9/alpha", events: "*", name: "a\u0000b" });
    expect(edit.status).toBe(400);
    expect(await edit.text()).toContain("body.name");
  });

  // Issue 25's Content-Encoding kind, on the portal's forms (the dashboard's: dashboard-security.test.ts).
  it("decodes a form sent gzip and refuses a plain form labelled br (400) or one in a coding it does not decode (415)", async () => {
    const s = await open(a.id);
    const send = (body: Buffer, coding: string) =>
      app.request(`${ORIGIN}/portal/hooks/${a.hook}/edit`, {
        method: "POST",
        body: new Uint8Array(body),
        headers: { origin: ORIGIN, cookie: s.cookie, "content-type": "application/x-www-form-urlencoded", "content-encoding": coding },
      });
    const form = (name: string) => Buffer.from(new URLSearchParams({ _csrf: s.csrf, url: "http://127.0.0.1:9/alpha", events: "*", name }).toString());
    expect((await send(gzipSync(form("gzipped edit")), "gzip")).status).toBe(303);
    expect(await (await s.get(`/portal/hooks/${a.hook}`)).text()).toContain("gzipped edit");
    expect((await send(form("labelled br"), "br")).status).toBe(400);
    expect((await send(form("in zstd"), "zstd")).status).toBe(415);
    const page = await (await s.get(`/portal/hooks/${a.hook}`)).text();
    expect(page).not.toContain("labelled br");
    expect(page).not.toContain("in zstd");
  });
});
