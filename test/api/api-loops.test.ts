import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultApiProcesses, insertAccount, issueApiKey, loadConfig } from "@hookline/server";
import { startOnTwoLoops, type StartedProcess } from "../cli/run-hookline.js";
import type { TestDatabase } from "../support/databases.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

/** Long, so a loop that only waited out its cache would fail the revocation test. */
const KEY_CACHE_SECONDS = 30;
/** How soon every loop must refuse a key revoked through one of them. */
const REVOKED_EVERYWHERE_MS = 5_000;
const LIMIT = 10;
/** Above the revocation test's own 401s (4, from 127.0.0.1); the failed-authentication test runs from 127.0.0.2. */
const FAILED_AUTH_LIMIT = 8;

/** The API loop processes `pid` started, from /proc (no /proc/<pid>/task/…/children on every kernel; tsx's esbuild is a child too). */
function loopsOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return parent === pid && readFileSync(`/proc/${name}/cmdline`, "utf8").includes("api-loop-entry");
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * One request on a connection of its own: the server deals connections to
 * its loops in turn, so consecutive calls land on every loop.
 */
function freshGet(url: string, path: string, key: string, localAddress?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent: false, localAddress, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end();
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The API on two event loops (HOOKLINE_API_PROCESSES=2, two processes) on
 * PostgreSQL, started as `pnpm start` does: it answers on both, a key's
 * budget and an address's failed-authentication budget are one across the
 * loops (per process, each loop would admit the whole budget), a revoked key
 * is refused by every loop, and SIGTERM stops every process.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL)("API on two event loops (PostgreSQL)", () => {
  let database: TestDatabase;
  let server: StartedProcess;
  let url: string;

  beforeAll(async () => {
    ({ database, server, url } = await startOnTwoLoops({
      HOOKLINE_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS),
      HOOKLINE_RATE_LIMIT_REQUESTS: String(LIMIT),
      HOOKLINE_RATE_LIMIT_FAILED_AUTH: String(FAILED_AUTH_LIMIT),
      HOOKLINE_RATE_LIMIT_WINDOW_SECONDS: "600",
    }));
  }, 120_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
    await database?.dispose();
  });

  it("runs a second process and answers on every connection", async () => {
    expect(loopsOf(server.child.pid!)).toHaveLength(1);
    const account = await insertAccount(database.store.db, "answers");
    const { key } = await issueApiKey(database.store, account.id, "k");
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await freshGet(url, "/v1/hooks", key));
    expect(statuses).toEqual([200, 200, 200, 200]);
  });

  it("counts a key's requests once across the loops", async () => {
    const account = await insertAccount(database.store.db, "limits");
    const { key } = await issueApiKey(database.store, account.id, "k");
    const statuses = [];
    // A pause between requests longer than the loops' count flush (10 ms): the bound under test is the sharing, not the flush.
    for (let i = 0; i < LIMIT + 2; i++) {
      statuses.push(await freshGet(url, "/v1/hooks", key));
      await pause(50);
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429, 429]);
  });

  it("refuses a key revoked through one loop on every loop at once, long before HOOKLINE_KEY_CACHE_SECONDS", async () => {
    const account = await insertAccount(database.store.db, "revocation");
    const manager = await issueApiKey(database.store, account.id, "manager");
    const victim = await issueApiKey(database.store, account.id, "victim");
    // Both loops hold the victim key in their caches.
    for (let i = 0; i < 4; i++) expect(await freshGet(url, "/v1/hooks", victim.key)).toBe(200);
    const revoked = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/v1/keys/${victim.id}`, { method: "DELETE", agent: false, headers: { authorization: `Bearer ${manager.key}` } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      });
      req.on("error", reject);
      req.end();
    });
    expect(revoked).toBe(204);
    const revokedAt = Date.now();
    // Refused on consecutive connections (every loop), long before the cache would expire.
    let statuses: number[] = [];
    while (Date.now() - revokedAt < REVOKED_EVERYWHERE_MS) {
      statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await freshGet(url, "/v1/hooks", victim.key));
      if (statuses.every((s) => s === 401)) break;
    }
    expect(statuses).toEqual([401, 401, 401, 401]);
    expect(await freshGet(url, "/v1/hooks", manager.key)).toBe(200);
  });

  // From an address of its own: it is locked out of the API for the rest of the window.
  it("counts failed authentications once across the loops", async () => {
    const statuses = [];
    for (let i = 0; i < FAILED_AUTH_LIMIT + 2; i++) statuses.push(await freshGet(url, "/v1/hooks", `wrong-${i}`, "127.0.0.2"));
    expect(statuses).toEqual([...Array(FAILED_AUTH_LIMIT).fill(401), 429, 429]);
  });

  it("stops every process on SIGTERM", async () => {
    const loop = loopsOf(server.child.pid!)[0]!;
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(() => readFileSync(`/proc/${loop}/stat`)).toThrow();
  }, 60_000);
});

/** PGlite is one process's database: the API stays on one loop there, and asking for more is refused, naming the setting. */
describe("HOOKLINE_API_PROCESSES", () => {
  it("is 1 on PGlite, refuses more there, and defaults to the cores (at most 4) on PostgreSQL", () => {
    expect(loadConfig({ HOOKLINE_DATA_DIR: "memory://" }).apiProcesses).toBe(1);
    expect(() => loadConfig({ HOOKLINE_DATA_DIR: "memory://", HOOKLINE_API_PROCESSES: "2" })).toThrow(/HOOKLINE_API_PROCESSES above 1 needs DATABASE_URL/);
    const postgres = { DATABASE_URL: "postgres://127.0.0.1/x", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET };
    const byDefault = loadConfig(postgres).apiProcesses;
    expect(byDefault).toBeGreaterThanOrEqual(1);
    expect(byDefault).toBeLessThanOrEqual(4);
    expect(loadConfig({ ...postgres, HOOKLINE_API_PROCESSES: "3" }).apiProcesses).toBe(3);
    // A worker-only process serves no API.
    expect(loadConfig({ ...postgres, HOOKLINE_ROLE: "worker", HOOKLINE_API_PROCESSES: "3" }).apiProcesses).toBe(1);
  });

  it("leaves one core to the worker thread of a server that also delivers", () => {
    // [cores, role api, role both with the worker thread, role both without it]
    const cases: Array<[number, number, number, number]> = [
      [1, 1, 1, 1],
      [2, 2, 1, 2],
      [4, 4, 3, 4],
      [16, 4, 4, 4],
    ];
    for (const [cores, api, both, bothNoThread] of cases) {
      expect([defaultApiProcesses("api", true, cores), defaultApiProcesses("both", true, cores), defaultApiProcesses("both", false, cores)]).toEqual([api, both, bothNoThread]);
    }
  });
});
