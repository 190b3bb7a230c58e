import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { AddressInfo } from "node:net";
import postgres from "postgres";
import { runInChild } from "../child-process.js";
import { loadNote, loadTest, type LoadResult } from "../load-test.js";
import type { BenchRow } from "../report.js";
import { createScratchDb } from "../scratch-db.js";

const ITEMS = 1_000;
/** The row every PK request reads; Hookline's GET reads one fixed hook likewise. */
export const ITEM_ID = 42;

/**
 * Two bare Hono routes on @hono/node-server: `/const` returns a constant and
 * `/item/:id` does one postgres.js primary-key SELECT on a small table.
 * Runs in a child process and serves until killed.
 *
 * @example
 * const { url } = await serveHonoRoutes({ databaseUrl, pool: 10 })
 */
export async function serveHonoRoutes(args: { databaseUrl: string; pool: number }): Promise<{ url: string }> {
  const sql = postgres(args.databaseUrl, { max: args.pool, onnotice: () => {} });
  await sql`create table if not exists bench_item (id int primary key, name text not null)`;
  await sql`insert into bench_item select i, 'item ' || i from generate_series(1, ${ITEMS}::int) i on conflict do nothing`;
  const app = new Hono();
  app.get("/const", (c) => c.json({ ok: true }));
  app.get("/item/:id", async (c) => {
    const [row] = await sql`select id, name from bench_item where id = ${Number(c.req.param("id"))}`;
    return row ? c.json(row) : c.notFound();
  });
  const port = await new Promise<number>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) => resolve(info.port));
    server.on("error", (e) => console.error(e));
  });
  return { url: `http://127.0.0.1:${port}` };
}

export type HonoAnchor = { constant: LoadResult; pkSelect: LoadResult; rows: BenchRow[] };

/**
 * Measures both bare routes with autocannon from this process while they
 * run in their own; the PK route runs the long duration to expose decay.
 *
 * @example
 * const { rows, pkSelect } = await benchHonoRoutes(config)
 */
export async function benchHonoRoutes(opts: {
  adminUrl: string;
  pgPool: number;
  connections: number;
  shortSeconds: number;
  longSeconds: number;
  /** Unmeasured seconds of the same load before the PK SELECT is measured (as Hookline's GET gets). */
  warmupSeconds: number;
}): Promise<HonoAnchor> {
  const db = await createScratchDb(opts.adminUrl, "hono");
  const call = runInChild<{ url: string }>(new URL(import.meta.url), "serveHonoRoutes", {
    databaseUrl: db.url,
    pool: opts.pgPool,
  });
  try {
    const { url } = await call.result;
    const serverPid = call.pid;
    const constant = await loadTest({ url: `${url}/const`, seconds: opts.shortSeconds, connections: opts.connections, serverPid });
    const pkSelect = await loadTest({ url: `${url}/item/${ITEM_ID}`, seconds: opts.longSeconds, warmupSeconds: opts.warmupSeconds, connections: opts.connections, serverPid });
    const c = `c=${opts.connections}`;
    const rows: BenchRow[] = [
      { scenario: "api", name: "bare Hono constant (anchor)", value: constant.rps, unit: "req/s", note: loadNote(constant, `${c}, ${opts.shortSeconds}s`) },
      { scenario: "api", name: "bare Hono constant p99", value: constant.p99, unit: "ms" },
      { scenario: "api", name: "bare Hono PK SELECT (anchor)", value: pkSelect.rps, unit: "req/s", note: loadNote(pkSelect, `${c}, ${opts.longSeconds}s after ${opts.warmupSeconds}s warm-up, postgres.js max=${opts.pgPool}`) },
      { scenario: "api", name: "bare Hono PK SELECT p99", value: pkSelect.p99, unit: "ms" },
      { scenario: "api", name: "bare Hono PK SELECT CPU per request", value: pkSelect.cpuUsPerRequest ?? null, unit: "µs", note: "server process only (not PostgreSQL)" },
    ];
    return { constant, pkSelect, rows };
  } finally {
    call.kill();
    await db.drop();
  }
}
