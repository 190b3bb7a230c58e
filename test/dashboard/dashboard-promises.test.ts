import { createApp, createLogger, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardClient } from "../support/dashboard-session.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

const ORIGIN = "http://hookline.test";

/** The text of a page with its markup removed and entities decoded: what a person reads. */
const textOf = (html: string) =>
  html.replace(/<[^>]+>/g, " ").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/**
 * Issue 25, "promises the product breaks", on the dashboard: each kind of
 * fault (stored JSON shown re-encoded; types offered that publish refuses; a
 * claim's lease shown as the next attempt; a hook named two ways) checked on
 * every page that can show it.
 */
describe.each(testBackends())("dashboard promises on $kind", (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof createApp>;
  let key: string;
  let hook: { id: number };

  const api = (method: string, path: string, body?: unknown) =>
    app.request(`${ORIGIN}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    database = await backend.create();
    const config = loadConfig({ PORT: "0", HOOKLINE_ALLOW_PRIVATE_TARGETS: "true", LOG_LEVEL: "silent", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET });
    app = createApp({ store: database.store, config, logger: createLogger("silent") });
    const account = await insertAccount(database.store.db, "promises");
    key = (await issueApiKey(database.store, account.id, "k")).key;
    hook = (await (await api("POST", "/v1/hooks", { url: "http://127.0.0.1:9/p", events: ["*"], name: "Billing receiver" })).json()) as { id: number };
  }, 180_000);
  afterAll(() => database?.dispose());

  async function publishedDelivery(data: string) {
    const res = await app.request(`${ORIGIN}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: `{"type":"custom.thing","data":${data}}`,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: number };
    return database.store.db.selectFrom("deliveries").selectAll().where("event_id", "=", id).executeTakeFirstOrThrow();
  }

  it("shows stored JSON as JSON, pretty-printed with its exact tokens, never re-encoded as a string", async () => {
    const delivery = await publishedDelivery('{"n":1,"big":9007199254740993}');
    const s = await dashboardClient(app, ORIGIN).session(key);
    const page = textOf(await (await s.get(`/dashboard/deliveries/${delivery.id}`)).text());
    expect(page).toContain('"n": 1');
    expect(page).toContain('"big": 9007199254740993');
    expect(page).not.toContain('\\"n\\"');
  });

  it("offers as test events only the types publish accepts: none of Hookline's own", async () => {
    const s = await dashboardClient(app, ORIGIN).session(key);
    const page = await (await s.get(`/dashboard/hooks/${hook.id}`)).text();
    expect(page).toContain('<option value="build:complete">');
    for (const own of ["ping", "hook.disabled", "delivery.exhausted"]) expect(page).not.toContain(`<option value="${own}">`);
    for (const own of ["ping", "hook.disabled", "delivery.exhausted"]) {
      const sent = await s.post(`/dashboard/hooks/${hook.id}/test-event`, { type: own });
      expect(sent.status).toBe(400);
    }
  });

  it("shows a delivery a worker holds as in flight, not the claim's lease as its next attempt", async () => {
    const delivery = await publishedDelivery('{"n":2}');
    // What a claim does (store/claim-deliveries.ts): the lease's end becomes next_attempt_at.
    const leaseEnd = new Date(Date.now() + 60_000);
    await database.store.db
      .updateTable("deliveries")
      .set({ locked_by: "worker-x", locked_until: leaseEnd, next_attempt_at: leaseEnd })
      .where("id", "=", delivery.id)
      .execute();
    const s = await dashboardClient(app, ORIGIN).session(key);
    for (const path of [`/dashboard/deliveries/${delivery.id}`, `/dashboard/hooks/${hook.id}`]) {
      const page = textOf(await (await s.get(path)).text());
      expect(page, path).toContain("in flight");
      expect(page, path).not.toMatch(/next in 1 min|in 60 s|Next attempt/);
    }
    await database.store.db.updateTable("deliveries").set({ locked_by: null, locked_until: null }).where("id", "=", delivery.id).execute();
  });

  it("names a hook by its name wherever it is shown, as the hook list does", async () => {
    const delivery = await publishedDelivery('{"n":3}');
    const s = await dashboardClient(app, ORIGIN).session(key);
    expect(await (await s.get("/dashboard/hooks")).text()).toContain("Billing receiver");
    const page = await (await s.get(`/dashboard/deliveries/${delivery.id}`)).text();
    expect(page).toContain(`<a href="/dashboard/hooks/${hook.id}">Billing receiver</a>`);
    expect(textOf(page)).not.toContain(`Hook ${hook.id}`);
    const rotated = textOf(await (await s.post(`/dashboard/hooks/${hook.id}/rotate-secret`)).text());
    expect(rotated).toContain("New secret for Billing receiver");
    expect(rotated).not.toContain(`hook ${hook.id}`);
  });
});
