import { createApp, createLogger, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_ADMIN_TOKEN, TEST_MAIN_SECRET } from "../support/server.js";

const ORIGIN = "http://hookline.test";

/**
 * The portal's framing and brand, through app.request(): the whole CSP (the
 * dashboard's own-origin-only policy, framed by the account's allow-list), a
 * refused link framed as the account's pages are when the link was real, and
 * the brand as each of its two settings alone makes it. portal-security.test.ts
 * holds the links, cookies, scope and CSRF rules.
 */
describe.each(testBackends())("portal framing and brand on $kind", (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof createApp>;

  const admin = (method: string, path: string, body?: unknown) =>
    app.request(`${ORIGIN}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const csp = (frameAncestors: string) =>
    `default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors ${frameAncestors}`;

  /** A new account with these portal settings; its key is unused but makes it a real customer. */
  async function account(settings: { frame_ancestors: string[]; brand_name: string | null; brand_color: string | null }) {
    const made = await insertAccount(database.store.db, `portal-${Math.random()}`);
    await issueApiKey(database.store, made.id, "k");
    expect((await admin("PUT", `/v1/accounts/${made.id}/portal-settings`, settings)).status).toBe(200);
    return made.id;
  }
  /** A one-time link's start path (on ORIGIN). */
  async function link(accountId: string): Promise<string> {
    const made = (await (await admin("POST", `/v1/accounts/${accountId}/portal-sessions`, {})).json()) as { url: string };
    return made.url.replace(/^http:\/\/[^/]+/, ORIGIN);
  }
  /** Opens a link: a GET with the session's cookie. */
  async function session(accountId: string) {
    const started = await app.request(await link(accountId));
    expect(started.status).toBe(303);
    const cookie = started.headers.get("set-cookie")!.split(";")[0]!;
    return (path: string) => app.request(`${ORIGIN}${path}`, { headers: { cookie } });
  }

  beforeAll(async () => {
    database = await backend.create();
    const config = loadConfig({ PORT: "0", LOG_LEVEL: "silent", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    app = createApp({ store: database.store, config, logger: createLogger("silent") });
  }, 180_000);
  afterAll(() => database?.dispose());

  it("sends the dashboard's own-origin CSP, framed only by the account's allowed origins", async () => {
    const framed = await account({ frame_ancestors: ["https://app.example.com", "http://localhost:4000"], brand_name: null, brand_color: null });
    const unframed = await account({ frame_ancestors: [], brand_name: null, brand_color: null });
    expect((await (await session(framed))("/portal/hooks")).headers.get("content-security-policy")).toBe(csp("https://app.example.com http://localhost:4000"));
    expect((await (await session(unframed))("/portal/hooks")).headers.get("content-security-policy")).toBe(csp("'none'"));
  });

  it("a used link's refusal may show in the account's frame; an unknown or missing token's in none", async () => {
    const framed = await account({ frame_ancestors: ["https://app.example.com"], brand_name: null, brand_color: null });
    const start = await link(framed);
    expect((await app.request(start)).status).toBe(303);
    const used = await app.request(start);
    expect(used.status).toBe(403);
    expect(used.headers.get("content-security-policy")).toBe(csp("https://app.example.com"));
    for (const path of ["/portal/start?token=not-a-token", "/portal/start"]) {
      const refused = await app.request(`${ORIGIN}${path}`);
      expect(refused.status, path).toBe(403);
      expect(refused.headers.get("content-security-policy"), path).toBe(csp("'none'"));
      expect(await refused.text(), path).toContain("expired or was already used");
    }
  });

  it("brand: a colour alone is shown under the name Webhooks; a name alone has no colour; neither is Hookline's own", async () => {
    const title = async (page: Response) => /<title>([^<]*)<\/title>/.exec(await page.text())?.[1];
    const colourOnly = await session(await account({ frame_ancestors: [], brand_name: null, brand_color: "#0b7a75" }));
    expect(await title(await colourOnly("/portal/hooks"))).toMatch(/ · Webhooks$/);
    expect(await (await colourOnly("/portal/brand.css")).text()).toBe(":root { --accent: #0b7a75; }\n");

    const nameOnly = await session(await account({ frame_ancestors: [], brand_name: "Acme Billing", brand_color: null }));
    const page = await (await nameOnly("/portal/hooks")).text();
    expect(page).toMatch(/<title>[^<]* · Acme Billing<\/title>/);
    expect(page).not.toContain("brand.css");
    expect(await (await nameOnly("/portal/brand.css")).text()).toBe("");

    const plain = await session(await account({ frame_ancestors: [], brand_name: null, brand_color: null }));
    expect(await title(await plain("/portal/hooks"))).toMatch(/ · Hookline$/);
  });

  it("portal settings of an account that does not exist: 404, nothing made", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const res = await admin("PUT", `/v1/accounts/${missing}/portal-settings`, { frame_ancestors: [], brand_name: null, brand_color: null });
    expect(res.status).toBe(404);
  });
});
