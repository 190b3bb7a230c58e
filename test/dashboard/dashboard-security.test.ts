import { createApp, createLogger, createSecretBox, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { dashboardClient } from "../support/dashboard-session.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

const ORIGIN = "http://hookline.test";

/** The text of a page with its markup removed and entities decoded: what a person reads. */
const textOf = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** The dashboard's safety rules through app.request(): cookie flags, CSRF, CSP, one account per session. */
describe.each(testBackends())("dashboard safety on $kind", (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof createApp>;
  let keyA: string;
  let keyB: string;
  let hookA: { id: number; secret: string };

  beforeAll(async () => {
    database = await backend.create();
    const config = loadConfig({ PORT: "0", HOOKLINE_ALLOW_PRIVATE_TARGETS: "true", LOG_LEVEL: "silent", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET });
    app = createApp({ store: database.store, config, logger: createLogger("silent") });
    const a = await insertAccount(database.store.db, "account a");
    const b = await insertAccount(database.store.db, "account b");
    keyA = (await issueApiKey(database.store, a.id, "a")).key;
    keyB = (await issueApiKey(database.store, b.id, "b")).key;
    const res = await app.request(`${ORIGIN}/v1/hooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${keyA}`, "content-type": "application/json" },
      body: JSON.stringify({ url: "http://127.0.0.1:9/a", events: ["*"] }),
    });
    hookA = (await res.json()) as typeof hookA;
  }, 180_000); // creating and migrating a database is slow while the browser tests load the machine
  afterAll(() => database?.dispose());

  const client = () => dashboardClient(app, ORIGIN);
  const post: ReturnType<typeof client>["post"] = (...args) => client().post(...args);
  const session = (key: string) => client().session(key);
  const isActive = async (id: number) =>
    (await database.store.db.selectFrom("hooks").select("is_active").where("id", "=", id).executeTakeFirstOrThrow()).is_active;

  it("sets an HttpOnly, SameSite=Strict, /dashboard-scoped cookie, Secure only behind HTTPS", async () => {
    const plain = await post("/dashboard/sign-in", { api_key: keyA });
    expect(plain.headers.get("location")).toBe("/dashboard/hooks");
    const flags = plain.headers.get("set-cookie")!;
    expect(flags).toMatch(/^hookline_session=[A-Za-z0-9_-]{43};/);
    expect(flags).toContain("HttpOnly");
    expect(flags).toContain("SameSite=Strict");
    expect(flags).toContain("Path=/dashboard");
    expect(flags).not.toContain("Secure");
    expect(flags).not.toContain(keyA);
    const proxied = await post("/dashboard/sign-in", { api_key: keyA }, { origin: "https://hookline.test", "x-forwarded-proto": "https" });
    expect(proxied.status).toBe(303);
    expect(proxied.headers.get("set-cookie")).toContain("Secure");
  });

  it("refuses a bad key with a 401 page and no cookie, and an empty one naming body.api_key", async () => {
    const bad = await post("/dashboard/sign-in", { api_key: "hkl_not-a-key" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("set-cookie")).toBeNull();
    expect(await bad.text()).toContain("The API key is not valid.");
    const empty = await post("/dashboard/sign-in", { api_key: "" });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("<code>body.api_key</code>: is required");
  });

  it("sends a request without a session to sign in, and refuses a POST without one", async () => {
    const res = await app.request(`${ORIGIN}/dashboard/hooks`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/sign-in");
    expect((await post(`/dashboard/hooks/${hookA.id}/pause`, {})).status).toBe(401);
  });

  it("refuses cross-origin posts and posts without the session's CSRF token", async () => {
    const a = await session(keyA);
    const crossSite = await post(`/dashboard/hooks/${hookA.id}/pause`, { _csrf: a.csrf }, { origin: "https://evil.example", cookie: a.cookie });
    expect(crossSite.status).toBe(403);
    const noOrigin = await post(`/dashboard/hooks/${hookA.id}/pause`, { _csrf: a.csrf }, { cookie: a.cookie });
    expect(noOrigin.status).toBe(403);
    const noToken = await post(`/dashboard/hooks/${hookA.id}/pause`, {}, { origin: ORIGIN, cookie: a.cookie });
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain("CSRF token");
    const otherSessionsToken = await post(`/dashboard/hooks/${hookA.id}/pause`, { _csrf: (await session(keyB)).csrf }, { origin: ORIGIN, cookie: a.cookie });
    expect(otherSessionsToken.status).toBe(403);
    expect(await isActive(hookA.id)).toBe(true);

    const ok = await post(`/dashboard/hooks/${hookA.id}/pause`, { _csrf: a.csrf }, { origin: ORIGIN, cookie: a.cookie });
    expect(ok.status).toBe(303);
    expect(await isActive(hookA.id)).toBe(false);
    await post(`/dashboard/hooks/${hookA.id}/resume`, { _csrf: a.csrf }, { origin: ORIGIN, cookie: a.cookie });
    expect(await isActive(hookA.id)).toBe(true);
  });

  it("serves pages with a CSP that allows only our own script and stylesheet, nothing inline, never cached", async () => {
    const res = await (await session(keyA)).get("/dashboard/hooks");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("script-src 'self'");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    // The one script is a file of ours (Copy buttons); nothing inline.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)|style=/);
    expect(html).not.toContain(hookA.secret);
  });

  it("shows a second account nothing of the first: 404 on its hook and delivery pages and actions", async () => {
    const published = await app.request(`${ORIGIN}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${keyA}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "custom.thing", data: {} }),
    });
    expect(published.status).toBe(202);
    const delivery = await database.store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hookA.id).executeTakeFirstOrThrow();
    const b = await session(keyB);
    expect((await b.get("/dashboard/hooks")).status).toBe(200);
    expect(await (await b.get("/dashboard/hooks")).text()).not.toContain("127.0.0.1:9/a");
    expect((await b.get(`/dashboard/hooks/${hookA.id}`)).status).toBe(404);
    expect((await b.get(`/dashboard/deliveries/${delivery.id}`)).status).toBe(404);
    expect((await post(`/dashboard/hooks/${hookA.id}/pause`, { _csrf: b.csrf }, { origin: ORIGIN, cookie: b.cookie })).status).toBe(404);
    expect((await post(`/dashboard/deliveries/${delivery.id}/redeliver`, { _csrf: b.csrf }, { origin: ORIGIN, cookie: b.cookie })).status).toBe(404);
    expect((await post(`/dashboard/hooks/${hookA.id}/rotate-secret`, { _csrf: b.csrf }, { origin: ORIGIN, cookie: b.cookie })).status).toBe(404);
    expect(await isActive(hookA.id)).toBe(true);
    const a = await session(keyA);
    expect((await a.get(`/dashboard/deliveries/${delivery.id}`)).status).toBe(200);
  });

  it("gives the new-hook form the API's field errors and shows a rotated secret once", async () => {
    const a = await session(keyA);
    const bad = await post("/dashboard/hooks", { _csrf: a.csrf, url: "ftp://x", events: "*" }, { origin: ORIGIN, cookie: a.cookie });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("<code>body.url</code>: must use http or https");
    const rotated = await post(`/dashboard/hooks/${hookA.id}/rotate-secret`, { _csrf: a.csrf }, { origin: ORIGIN, cookie: a.cookie });
    expect(rotated.status).toBe(200);
    const row = await database.store.db.selectFrom("hooks").select(["secret"]).where("id", "=", hookA.id).executeTakeFirstOrThrow();
    // Stored sealed (AES-GCM under the main key): open it to know the clear secret the page must show once.
    const secret = createSecretBox(Buffer.from(TEST_MAIN_SECRET, "base64")).open(hookA.id, row.secret);
    expect(secret).not.toBe(hookA.secret);
    expect(await rotated.text()).toContain(secret);
    expect(await (await a.get(`/dashboard/hooks/${hookA.id}`)).text()).not.toContain(secret);
  });

  it("counts wrong keys at sign-in against the address's failed-authentication limit, as the API does", async () => {
    const config = loadConfig({ PORT: "0", LOG_LEVEL: "silent", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, HOOKLINE_RATE_LIMIT_FAILED_AUTH: "3" });
    const limited = createApp({ store: database.store, config, logger: createLogger("silent") });
    const signIn = (key: string) =>
      limited.request(`${ORIGIN}/dashboard/sign-in`, { method: "POST", body: new URLSearchParams({ api_key: key }), headers: { origin: ORIGIN } });
    for (let i = 0; i < 3; i++) expect((await signIn(`hkl_wrong_${i}`)).status).toBe(401);
    const refused = await signIn(keyA);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^[0-9]+$/);
    // The API shares the count: the same address is refused there too.
    expect((await limited.request(`${ORIGIN}/v1/hooks`, { headers: { authorization: `Bearer ${keyA}` } })).status).toBe(429);
  });

  it("answers text PostgreSQL cannot store (U+0000) in a search, a filter or a form with a 400 naming the field, not a 500", async () => {
    const a = await session(keyA);
    for (const [path, field] of [
      ["/dashboard/events?q=msg_%00", "query.q"],
      ["/dashboard/events?q=order%00", "query.q"],
      ["/dashboard/events?type=a%00", "query.type"],
    ] as const) {
      const page = await a.get(path);
      expect(page.status, path).toBe(400);
      expect(await page.text(), path).toContain(field);
    }
    for (const [path, fields, field] of [
      ["/dashboard/hooks", { url: "http://127.0.0.1:9/n", events: "*", name: "a\u0000b" }, "body.name"],
      ["/dashboard/hooks", { url: "http://127.0.0.1:9/n\u0000", events: "*" }, "body.url"],
      [`/dashboard/hooks/${hookA.id}/edit`, { url: "http://127.0.0.1:9/a", events: "*", name: "a\u0000b" }, "body.name"],
      ["/dashboard/keys", { name: "k\u0000" }, "body.name"],
    ] as const) {
      const answer = await a.post(path, fields);
      expect(answer.status, `${path} ${field}`).toBe(400);
      expect(await answer.text(), path).toContain(field);
    }
    expect((await post("/dashboard/sign-in", { api_key: "hl_\u0000" })).status).toBe(400);
  });

  // Issue 25's Content-Encoding kind, on the forms: the encoded bytes were read as the form.
  it("decodes a form sent gzip, deflate or br, and refuses a plain form labelled br (400) or a coding it does not decode (415)", async () => {
    const form = (fields: Record<string, string>) => Buffer.from(new URLSearchParams(fields).toString());
    const send = (path: string, body: Buffer, coding: string, cookie?: string) =>
      app.request(`${ORIGIN}${path}`, {
        method: "POST",
        body: new Uint8Array(body),
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded", "content-encoding": coding, ...(cookie ? { cookie } : {}) },
      });
    for (const [coding, encode] of [
      ["gzip", gzipSync],
      ["deflate", deflateSync],
      ["br", brotliCompressSync],
    ] as const) {
      const signedIn = await send("/dashboard/sign-in", encode(form({ api_key: keyA })), coding);
      expect(signedIn.status, coding).toBe(303);
      // A signed-in form too: the CSRF token and the fields are read from the decoded form.
      const a = await session(keyA);
      const created = await send("/dashboard/keys", encode(form({ _csrf: a.csrf, name: `key-${coding}` })), coding, a.cookie);
      expect(created.status, coding).toBeLessThan(400);
      expect(await (await a.get("/dashboard/keys")).text()).toContain(`key-${coding}`);
    }
    const labelled = await send("/dashboard/sign-in", form({ api_key: keyA }), "br");
    expect(labelled.status).toBe(400);
    expect(labelled.headers.get("set-cookie")).toBeNull();
    expect(await labelled.text()).toContain("Content-Encoding");
    const unknown = await send("/dashboard/sign-in", form({ api_key: keyA }), "zstd");
    expect(unknown.status).toBe(415);
    expect(unknown.headers.get("set-cookie")).toBeNull();
    const bomb = await send("/dashboard/sign-in", gzipSync(form({ api_key: keyA, pad: "a".repeat(4 * 1024 * 1024) })), "gzip");
    expect(bomb.status).toBe(413);
  });

  it("holds a test event's own payload to the API's JSON input rules: U+0000, unpaired surrogates and nesting past 64 levels are a 400 naming the field, nothing published", async () => {
    const a = await session(keyA);
    const form = await (await a.get(`/dashboard/hooks/${hookA.id}?test_type=build:complete`)).text();
    const example = /<textarea[^>]*name="data"[^>]*>([\s\S]*?)<\/textarea>/.exec(form)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&").trim();
    const withMember = (member: string) => `{${member},${example.slice(1)}`;
    const events = async () => Number((await database.store.db.selectFrom("events").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);
    // As deep as POST /v1/events takes: the body, data and 62 levels in it.
    const sent = await a.post(`/dashboard/hooks/${hookA.id}/test-event`, { type: "build:complete", data: withMember(`"deep":${"[".repeat(62)}${"]".repeat(62)}`) });
    expect(sent.status, "the example with a member of one's own is sent").toBe(303);
    const before = await events();
    for (const [member, field] of [
      ['"note":"a\\u0000b"', "body.data.note"],
      ['"note":"\\ud800"', "body.data.note"],
      ['"a\\u0000":1', "body.data.a"],
      [`"deep":${"[".repeat(63)}${"]".repeat(63)}`, "body.data.deep"],
      [`"deep":${"[".repeat(5_000)}${"]".repeat(5_000)}`, "body.data.deep"],
    ] as const) {
      const answer = await a.post(`/dashboard/hooks/${hookA.id}/test-event`, { type: "build:complete", data: withMember(member) });
      expect(answer.status, member.slice(0, 40)).toBe(400);
      expect(textOf(await answer.text()), member.slice(0, 40)).toContain(field);
    }
    expect(await events()).toBe(before);
  });

  it("ends the session on sign-out", async () => {
    const a = await session(keyA);
    const out = await post("/dashboard/sign-out", { _csrf: a.csrf }, { origin: ORIGIN, cookie: a.cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/hookline_session=;.*Max-Age=0/);
    expect((await a.get("/dashboard/hooks")).headers.get("location")).toBe("/dashboard/sign-in");
  });
});
