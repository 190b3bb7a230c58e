import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, loadConfig, startHookline } from "@hookline/server";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, TEST_MAIN_SECRET, type TestServer } from "../support/server.js";

/*
 * The kind: check-then-create without a lock. A "find, else create" (Kudu's
 * subscribe-by-URL, the first start's default account) answered from a read
 * that a concurrent twin made at the same moment: both found nothing, both
 * created. Every such write is atomic now (a lock on the name, store/advisory-locks.ts).
 * Real concurrent requests, on PGlite and PostgreSQL.
 */
const basic = (key: string) => `Basic ${Buffer.from(`deployer:${key}`).toString("base64")}`;
const CONCURRENT = 12;

describe.each(testBackends())("check-then-create is atomic ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  async function subscribe(path: "/api/hooks" | "/hooks", key: string, url: string, event: string) {
    const response = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { authorization: basic(key), "content-type": "application/json" },
      body: JSON.stringify({ url, event }),
    });
    return { status: response.status, body: (await response.json()) as { id: number } };
  }

  for (const path of ["/api/hooks", "/hooks"] as const) {
    it(`Kudu's subscribe-by-URL at ${path}: ${CONCURRENT} identical subscribes at once make one hook, and each answer names it`, async () => {
      const { key } = await server.newAccount(`kudu ${path}`);
      const url = `http://127.0.0.1:9/kudu${path.replace(/\//g, "-")}`;
      const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => subscribe(path, key, url, "PostDeployment")));
      expect(answers.map((a) => a.status)).toEqual(Array(CONCURRENT).fill(201));
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      const listed = (await (await fetch(`${server.url}/api/hooks`, { headers: { authorization: basic(key) } })).json()) as Array<{ url: string }>;
      expect(listed.filter((hook) => hook.url === url)).toHaveLength(1);
    });
  }

  it("Kudu's subscribe-by-URL: the same URL for two events at once makes one hook; the other answer is a 409", async () => {
    const { key } = await server.newAccount("kudu two events");
    const url = "http://127.0.0.1:9/kudu-two-events";
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => subscribe("/api/hooks", key, url, i % 2 ? "PostDeployment" : "PreDeployment")),
    );
    const created = answers.filter((a) => a.status === 201);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.status !== 201).every((a) => a.status === 409)).toBe(true);
  });

  it.runIf(backend.kind === "postgres")("the first start's default account: servers starting at once on one database make one account and one key", async () => {
    const fresh = await backend.create();
    try {
      const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", DATABASE_URL: fresh.url!, HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, HOOKLINE_API_PROCESSES: "1", HOOKLINE_ROLE: "api", LOG_LEVEL: "silent" });
      const { ensureDefaultAccount } = await import("../../services/hookline/src/quickstart.js");
      const stores = await Promise.all([1, 2, 3].map(() => startHookline(config, createLogger("silent"))));
      try {
        const made = await Promise.all(stores.map((s) => ensureDefaultAccount(s.store)));
        expect(new Set(made.map((m) => m.accountId)).size).toBe(1);
        expect(made.filter((m) => m.key !== undefined)).toHaveLength(1);
        const { count } = (await fresh.store.db.selectFrom("accounts").select((eb) => eb.fn.countAll<number>().as("count")).executeTakeFirstOrThrow());
        expect(Number(count)).toBe(1);
      } finally {
        await Promise.all(stores.map((s) => s.stop()));
      }
    } finally {
      await fresh.dispose();
    }
  }, 120_000);
});
