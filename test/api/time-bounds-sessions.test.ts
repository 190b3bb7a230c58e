import { createHash } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, createLogger, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here the browser sessions': a portal link (opens just inside its
 * expiry, not just after), a portal session (honoured until it expires), the
 * lengths both are given, and the pruning a sign-in or a link's start does
 * (never a live link or session, always an expired one; a session outlives
 * its link). Dashboard sessions' own expiry is in time-bounds.test.ts.
 */

const ORIGIN = "http://hookline.test";
/** auth/portal-links.ts: PORTAL_LINK_TTL_SECONDS, PORTAL_SESSION_TTL_SECONDS; http/dashboard/session.ts: SESSION_TTL_SECONDS. */
const LINK_TTL_SECONDS = 600;
const PORTAL_SESSION_TTL_SECONDS = 3600;
const DASHBOARD_SESSION_TTL_SECONDS = 8 * 3600;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const cookieValue = (setCookie: string) => decodeURIComponent(setCookie.split(";")[0]!.slice(setCookie.indexOf("=") + 1));

describe.each(testBackends())("browser session time bounds, each side ($kind)", (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof createApp>;
  let key: string;

  beforeAll(async () => {
    database = await backend.create();
    const config = loadConfig({ HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, HOOKLINE_RATE_LIMIT_FAILED_AUTH: "0", LOG_LEVEL: "silent" });
    app = createApp({ store: database.store, config, logger: createLogger("silent") });
    const account = await insertAccount(database.store.db, "sessions");
    key = (await issueApiKey(database.store, account.id, "k")).key;
  });
  afterAll(() => database?.dispose());

  const db = () => database.store.db;
  /** Seconds from the database's now() to `column` of the row where `where` holds; null when the row is gone. */
  async function secondsLeft(table: "portal_sessions" | "dashboard_sessions", column: string, where: string, value: string) {
    const row = (await sql<{ left: number | null }>`select extract(epoch from ${sql.ref(column)} - now()) as left from ${sql.table(table)} where ${sql.ref(where)} = ${value}`.execute(db())).rows[0];
    return row === undefined ? null : Number(row.left);
  }
  const moveTo = (table: "portal_sessions" | "dashboard_sessions", column: string, where: string, value: string, seconds: number) =>
    sql`update ${sql.table(table)} set ${sql.ref(column)} = now() + make_interval(secs => ${seconds}) where ${sql.ref(where)} = ${value}`.execute(db());

  describe("a portal link and session", () => {
    /** A new link: its token's hash (the row's key) and a way to open it. */
    async function link(body: Record<string, unknown> = {}) {
      const res = await app.request(`${ORIGIN}/v1/portal-sessions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      const answer = (await res.json()) as { url: string; expires_at: string };
      const token = new URL(answer.url).searchParams.get("token")!;
      return { answer, linkHash: sha256(token), open: () => app.request(answer.url.replace(/^http:\/\/[^/]+/, ORIGIN)) };
    }
    /** Opens a new link: the session's hash and a page request with its cookie. */
    async function session() {
      const made = await link();
      const started = await made.open();
      expect(started.status).toBe(303);
      const setCookie = started.headers.get("set-cookie")!;
      const cookie = setCookie.split(";")[0]!;
      return { ...made, setCookie, sessionHash: sha256(cookieValue(setCookie)), page: () => app.request(`${ORIGIN}/portal/hooks`, { headers: { cookie } }) };
    }

    it("a link lasts ttl_seconds (600 s by default), and its answer's expires_at is the row's", async () => {
      for (const [body, ttl] of [[{}, LINK_TTL_SECONDS], [{ ttl_seconds: 120 }, 120]] as const) {
        const made = await link(body);
        const left = await secondsLeft("portal_sessions", "link_expires_at", "link_hash", made.linkHash);
        expect(left).toBeGreaterThan(ttl - 5);
        expect(left).toBeLessThanOrEqual(ttl);
        expect(Math.abs(Date.parse(made.answer.expires_at) - (Date.now() + left! * 1000))).toBeLessThan(5000);
      }
    });

    it("a link opens just inside its expiry, and not just after it", async () => {
      const inside = await link({ ttl_seconds: 60 });
      await moveTo("portal_sessions", "link_expires_at", "link_hash", inside.linkHash, 5);
      expect((await inside.open()).status).toBe(303);
      const after = await link({ ttl_seconds: 60 });
      await moveTo("portal_sessions", "link_expires_at", "link_hash", after.linkHash, -1);
      expect((await after.open()).status).toBe(403);
    });

    it("a session lasts an hour (row and cookie), and is honoured just inside its expiry, refused just after", async () => {
      const s = await session();
      const left = await secondsLeft("portal_sessions", "session_expires_at", "session_hash", s.sessionHash);
      expect(left).toBeGreaterThan(PORTAL_SESSION_TTL_SECONDS - 5);
      expect(left).toBeLessThanOrEqual(PORTAL_SESSION_TTL_SECONDS);
      expect(s.setCookie).toContain(`Max-Age=${PORTAL_SESSION_TTL_SECONDS}`);
      await moveTo("portal_sessions", "session_expires_at", "session_hash", s.sessionHash, 5);
      expect((await s.page()).status).toBe(200);
      await moveTo("portal_sessions", "session_expires_at", "session_hash", s.sessionHash, -1);
      expect((await s.page()).status).toBe(401);
    });

    it("pruning (each link's start) keeps a live session whose link has expired, and an unexpired link; removes them once expired", async () => {
      const s = await session();
      const waiting = await link();
      // The session's link expired long ago (sessions outlive links: 1 h against 10 min); the session has 5 s left.
      await moveTo("portal_sessions", "link_expires_at", "session_hash", s.sessionHash, -1000);
      await moveTo("portal_sessions", "session_expires_at", "session_hash", s.sessionHash, 5);
      await moveTo("portal_sessions", "link_expires_at", "link_hash", waiting.linkHash, 5);
      await session(); // starting a link prunes
      expect((await s.page()).status, "a live session is not pruned with its expired link").toBe(200);
      expect(await secondsLeft("portal_sessions", "link_expires_at", "link_hash", waiting.linkHash)).not.toBeNull();

      await moveTo("portal_sessions", "session_expires_at", "session_hash", s.sessionHash, -1);
      await moveTo("portal_sessions", "link_expires_at", "link_hash", waiting.linkHash, -1);
      await session();
      expect(await secondsLeft("portal_sessions", "session_expires_at", "session_hash", s.sessionHash), "the expired session is pruned").toBeNull();
      expect(await secondsLeft("portal_sessions", "link_expires_at", "link_hash", waiting.linkHash), "the expired, unused link is pruned").toBeNull();
    });
  });

  describe("a dashboard session", () => {
    async function signIn() {
      const res = await app.request(`${ORIGIN}/dashboard/sign-in`, { method: "POST", body: new URLSearchParams({ api_key: key }), headers: { origin: ORIGIN } });
      expect(res.status).toBe(303);
      const setCookie = res.headers.get("set-cookie")!;
      const cookie = setCookie.split(";")[0]!;
      return { setCookie, tokenHash: sha256(cookieValue(setCookie)), page: () => app.request(`${ORIGIN}/dashboard/hooks`, { headers: { cookie } }) };
    }

    it("lasts eight hours (row and cookie)", async () => {
      const s = await signIn();
      const left = await secondsLeft("dashboard_sessions", "expires_at", "token_hash", s.tokenHash);
      expect(left).toBeGreaterThan(DASHBOARD_SESSION_TTL_SECONDS - 5);
      expect(left).toBeLessThanOrEqual(DASHBOARD_SESSION_TTL_SECONDS);
      expect(s.setCookie).toContain(`Max-Age=${DASHBOARD_SESSION_TTL_SECONDS}`);
    });

    it("pruning (each sign-in) keeps a session just inside its expiry and removes one just past it", async () => {
      const s = await signIn();
      await moveTo("dashboard_sessions", "expires_at", "token_hash", s.tokenHash, 5);
      await signIn();
      expect((await s.page()).status).toBe(200);
      await moveTo("dashboard_sessions", "expires_at", "token_hash", s.tokenHash, -1);
      await signIn();
      expect(await secondsLeft("dashboard_sessions", "expires_at", "token_hash", s.tokenHash)).toBeNull();
    });
  });
});
