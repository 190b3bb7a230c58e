import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, createLogger, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, TEST_MAIN_SECRET, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * The kind: every time-bound rule is tested on each side of its bound
 * (issue 23: an answered Idempotency-Key ran again once its 60-second
 * in-progress lock had passed, and no test looked past the lock). The rows'
 * clocks are moved with SQL, so each side is reached without waiting.
 */

/** The idempotency lock and TTL under test; the TTL is set far from the lock so the two bounds are told apart. */
const LOCK_SECONDS = 60;
const TTL_SECONDS = 3600;

describe.each(testBackends())("time bounds, each side ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let accountId: string;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database, { HOOKLINE_IDEMPOTENCY_TTL_SECONDS: String(TTL_SECONDS) });
    const account = await server.newAccount();
    accountId = account.id;
    api = specClient(server.url, { authorization: `Bearer ${account.key}` });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  /** Moves the key's row `seconds` into the past, as if it had been taken that long ago. */
  const age = (key: string, seconds: number) =>
    sql`update idempotency_keys set created_at = now() - make_interval(secs => ${seconds}) where key = ${key}`.execute(database.store.db);
  const newKey = () => `bound-${randomBytes(6).toString("hex")}`;
  const hookBody = (path: string) => ({ url: `http://127.0.0.1:9/${path}`, events: ["*"] });
  const countHooks = async (path: string) =>
    Number((await sql<{ n: number }>`select count(*)::int as n from hooks where url = ${`http://127.0.0.1:9/${path}`}`.execute(database.store.db)).rows[0]!.n);

  describe("an answered Idempotency-Key", () => {
    it.each([
      ["just answered", 0],
      ["past the in-progress lock", LOCK_SECONDS + 1],
      ["just inside its TTL", TTL_SECONDS - 5],
    ])("%s: replays the first answer and runs nothing again", async (_, seconds) => {
      const key = newKey();
      const path = `answered-${key}`;
      const first = await api.call("POST", "/v1/hooks", { body: hookBody(path), headers: { "idempotency-key": key } });
      expect(first.status).toBe(201);
      await age(key, seconds);
      const again = await api.call("POST", "/v1/hooks", { body: hookBody(path), headers: { "idempotency-key": key } });
      expect(again.status).toBe(201);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.body.id).toBe(first.body.id);
      expect(await countHooks(path)).toBe(1);
    });

    it("past its TTL: is free again, and the request runs as new", async () => {
      const key = newKey();
      const path = `expired-${key}`;
      const first = await api.call("POST", "/v1/hooks", { body: hookBody(path), headers: { "idempotency-key": key } });
      await age(key, TTL_SECONDS + 5);
      const again = await api.call("POST", "/v1/hooks", { body: hookBody(path), headers: { "idempotency-key": key } });
      expect(again.status).toBe(201);
      expect(again.headers.get("idempotent-replayed")).toBeNull();
      expect(again.body.id).not.toBe(first.body.id);
      expect(await countHooks(path)).toBe(2);
    });
  });

  describe("an Idempotency-Key whose first request never answered (its process died)", () => {
    /** A key held in progress, as a request that crashed leaves it: the fingerprint of the same request, no answer. */
    async function heldKey(path: string): Promise<string> {
      const key = newKey();
      const text = JSON.stringify(hookBody(path));
      const fingerprint = createHash("sha256").update("POST /v1/hooks\n").update(text).digest("hex");
      await sql`insert into idempotency_keys (scope, key, fingerprint) values (${`account:${accountId}`}, ${key}, ${fingerprint})`.execute(database.store.db);
      return key;
    }

    it("inside the lock: a retry is told to wait (409 with Retry-After), nothing runs", async () => {
      const path = `held-${randomBytes(4).toString("hex")}`;
      const key = await heldKey(path);
      await age(key, LOCK_SECONDS - 5);
      const retry = await api.call("POST", "/v1/hooks", { body: hookBody(path), headers: { "idempotency-key": key } });
      expect(retry.status).toBe(409);
      expect(retry.headers.get("retry-after")).toBe("1");
      expect(await countHooks(path)).toBe(0);
    });

    it("past the lock: the same request takes the key over and runs once", async () => {
      const path = `taken-${randomBytes(4).toString("hex")}`;
      const key = await heldKey(path);
      await age(key, LOCK_SECONDS + 5);
      const retry = await api.call("POST", "/v1/hooks", { body: hookBody(path), headers: { "idempotency-key": key } });
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      const replay = await api.call("POST", "/v1/hooks", { body: hookBody(path), headers: { "idempotency-key": key } });
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(await countHooks(path)).toBe(1);
    });

    it("past the lock, another request with the key is still refused as a mismatch", async () => {
      const key = await heldKey(`mine-${randomBytes(4).toString("hex")}`);
      await age(key, LOCK_SECONDS + 5);
      const other = await api.call("POST", "/v1/hooks", { body: hookBody("someone-else"), headers: { "idempotency-key": key } });
      expect(other.status).toBe(422);
    });
  });

  describe("a dashboard session", () => {
    const ORIGIN = "http://dashboard.test";
    async function signedIn() {
      const config = loadConfig({ HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, HOOKLINE_RATE_LIMIT_FAILED_AUTH: "0", LOG_LEVEL: "silent" });
      const app = createApp({ store: database.store, config, logger: createLogger("silent") });
      const account = await insertAccount(database.store.db, `session ${randomBytes(3).toString("hex")}`);
      const { key } = await issueApiKey(database.store, account.id, "dashboard");
      const res = await app.request(`${ORIGIN}/dashboard/sign-in`, { method: "POST", body: new URLSearchParams({ api_key: key }), headers: { origin: ORIGIN } });
      expect(res.status).toBe(303);
      const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
      const token = decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1));
      const tokenHash = createHash("sha256").update(token).digest("hex");
      const expireIn = (seconds: number) =>
        sql`update dashboard_sessions set expires_at = now() + make_interval(secs => ${seconds}) where token_hash = ${tokenHash}`.execute(database.store.db);
      const page = () => app.request(`${ORIGIN}/dashboard/hooks`, { headers: { cookie } });
      return { expireIn, page, tokenHash };
    }

    it("is stored as its token's SHA-256, never the token", async () => {
      const { tokenHash } = await signedIn();
      const rows = await database.store.db.selectFrom("dashboard_sessions").select("token_hash").execute();
      expect(rows.map((r) => r.token_hash)).toContain(tokenHash);
    });

    it("is honoured until it expires and refused after", async () => {
      const { expireIn, page } = await signedIn();
      await expireIn(5);
      expect((await page()).status).toBe(200);
      await expireIn(-1);
      const refused = await page();
      expect(refused.status).toBe(303);
      expect(refused.headers.get("location")).toMatch(/sign-in/);
    });
  });
});
