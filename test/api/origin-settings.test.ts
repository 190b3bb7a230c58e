import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from "../support/server.js";
import { specDocument } from "../support/spec.js";

/*
 * The kind: an origin setting that takes what is not an origin. The portal's
 * `frame_ancestors` took `http://..` (and other non-origins, escaped into the
 * CSP but never matching anything, or matching more than meant). Every
 * origin-list setting is checked as a browser's serialised origin
 * (RFC 6454 §6.2: scheme://host[:port]) by the spec's pattern and by the
 * server, and a bad entry is a 400 naming the field with its index.
 */
const BAD = [
  "http://..",
  "https://a..b.example",
  "https://.example.com",
  "https://-a.example.com",
  "https://a-.example.com",
  "https://app.example.com/",
  "https://app.example.com/path",
  "https://app.example.com?x=1",
  "https://app.example.com#x",
  "https://user@app.example.com",
  "https://user:pw@app.example.com",
  "https://*.example.com",
  "*",
  "https://app.example.com:99999",
  "https://app.example.com:0",
  "https://app.example.com:08080",
  "https://app.example.com:443",
  "https://App.Example.com",
  "HTTPS://app.example.com",
  "https://[:::]",
  "https://[::1",
  "javascript://app.example.com",
  "ftp://app.example.com",
  "app.example.com",
  " https://app.example.com",
  "https://app.example.com ",
  "'self'",
  "https://app.example.com; script-src *",
];
const GOOD = ["https://app.example.com", "http://localhost:3000", "https://[::1]:8443", "http://127.0.0.1:8080", "https://xn--bcher-kva.example"];

const schema = (specDocument.components as { schemas: Record<string, { properties: { frame_ancestors: { items: object } } }> }).schemas.PortalSettings!.properties.frame_ancestors.items;
const specAccepts = new Ajv2020({ strict: false }).compile(schema);

describe.each(testBackends())("origin settings are origins ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let account: { id: string };

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    account = await server.newAccount("portal");
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const put = (frame_ancestors: string[]) =>
    fetch(`${server.url}/v1/accounts/${account.id}/portal-settings`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ frame_ancestors, brand_name: null, brand_color: null }),
    });

  it("frame_ancestors: each non-origin is a 400 naming body.frame_ancestors.<index>, and nothing is saved", async () => {
    expect((await put(["https://kept.example"])).status).toBe(200);
    const wrong: string[] = [];
    for (const bad of BAD) {
      const response = await put(["https://app.example.com", bad]);
      const text = await response.text();
      if (response.status !== 400 || !text.includes('"body.frame_ancestors.1"')) wrong.push(`${JSON.stringify(bad)} → ${response.status} ${text.slice(0, 160)}`);
    }
    expect(wrong).toEqual([]);
    const kept = await database.store.db.selectFrom("accounts").select("portal_frame_ancestors").where("id", "=", account.id).executeTakeFirstOrThrow();
    expect(kept.portal_frame_ancestors).toEqual(["https://kept.example"]);
  });

  it("frame_ancestors: real origins are taken", async () => {
    const response = await put(GOOD);
    expect(response.status, await response.clone().text()).toBe(200);
  });

  it("the spec's pattern refuses every non-origin it can see by shape, and takes every good one", () => {
    // Case, default ports and port range are the server's to judge (a pattern cannot compare with the scheme).
    const shapeOnly = BAD.filter((b) => !["https://app.example.com:99999", "https://app.example.com:443", "https://App.Example.com", "HTTPS://app.example.com", "https://[:::]"].includes(b));
    expect(shapeOnly.filter((bad) => specAccepts(bad))).toEqual([]);
    expect(GOOD.filter((good) => !specAccepts(good))).toEqual([]);
  });
});
