import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { eventually } from "../delivery/test-fixtures.js";
import type { Store } from "./database.js";
import { CHURNING_TABLES, startTableUpkeep, tendTables, upkeepDue } from "./table-upkeep.js";
import { afterStatements, fixtureBackends, hookWithDeliveries, openFixtureStore } from "./test-fixtures.js";

describe("upkeepDue: autovacuum's rules, larger bases", () => {
  const counters = { live: 10_000, dead: 0, modified: 0, inserted: 0 };
  it("ANALYZE from 1,000 + 10% of the live rows changed, on either database", () => {
    expect(upkeepDue({ ...counters, modified: 1_999 }, false)).toEqual({ analyze: false, vacuum: false });
    expect(upkeepDue({ ...counters, modified: 2_000 }, false)).toEqual({ analyze: true, vacuum: false });
    expect(upkeepDue({ ...counters, live: 0, modified: 1_000 }, false).analyze).toBe(true);
    expect(upkeepDue({ ...counters, live: 0, modified: 999 }, false).analyze).toBe(false);
  });
  it("VACUUM, only where allowed, from 1,000 + 20% of the live rows dead, or inserted", () => {
    expect(upkeepDue({ ...counters, dead: 2_999 }, true)).toEqual({ analyze: false, vacuum: false });
    expect(upkeepDue({ ...counters, dead: 3_000 }, true)).toEqual({ analyze: false, vacuum: true });
    expect(upkeepDue({ ...counters, inserted: 2_999 }, true).vacuum).toBe(false);
    expect(upkeepDue({ ...counters, inserted: 3_000 }, true).vacuum).toBe(true);
    expect(upkeepDue({ ...counters, dead: 50_000, inserted: 50_000 }, false).vacuum).toBe(false);
  });
});

describe("table upkeep on a database that fails", () => {
  it("logs each failed round with its error and goes on", async () => {
    const { store } = await openFixtureStore();
    await store.close();
    const lines: Array<{ msg: string; err?: { message?: string } }> = [];
    const stop = startTableUpkeep({ store, logger: createLogger("debug", { write: (line: string) => void lines.push(JSON.parse(line)) }), intervalMs: 20 });
    const failed = () => lines.filter((line) => line.msg === "table upkeep failed");
    await eventually(async () => (failed().length >= 2 ? true : undefined), "two failed rounds", 5_000);
    await stop();
    expect(failed()[0]!.err?.message).toEqual(expect.any(String));
  });
});

/**
 * The worker's table upkeep (table-upkeep.ts) on a real database: after a
 * burst the claim's count of held rows scans the whole table until the
 * table is analyzed; a round analyzes what changed past the bar (and
 * vacuums where nothing else does), and leaves the rest alone. Autovacuum
 * is off for these tables here, so a server that runs it cannot reset the
 * counters under a test.
 */
describe.each(fixtureBackends())("table upkeep ($kind)", ({ kind, open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: string;

  beforeAll(async () => {
    ({ store, accountId, close } = await open());
    for (const table of CHURNING_TABLES) await sql`alter table ${sql.table(table)} set (autovacuum_enabled = off)`.execute(store.db);
  });
  afterAll(async () => {
    await close?.();
  });

  type Counters = { modified: number; dead: number; analyzed: Date | null; autoanalyzed: Date | null; vacuumed: Date | null };
  const counters = async (table: string): Promise<Counters> => {
    const { rows } = await sql<Counters>`
      select n_mod_since_analyze::int as modified, n_dead_tup::int as dead, last_analyze as analyzed,
        last_autoanalyze as autoanalyzed, last_vacuum as vacuumed
      from pg_stat_user_tables where relid = to_regclass(${table})`.execute(store.db);
    return rows[0]!;
  };
  /** The held-rows count of the claim (claim-deliveries.ts `held`), as PostgreSQL plans it now. */
  const heldPlan = async () => {
    const { rows } = await sql<{ "QUERY PLAN": string }>`
      explain select hook_id, count(*)::int as n from deliveries
      where locked_by is not null and locked_until > now() group by hook_id`.execute(store.db);
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  };
  /** `n` deliveries claimed, then recorded: what a burst leaves behind (3 × n changes). */
  const burst = async (n: number) => {
    const hook = await hookWithDeliveries(store, accountId, n);
    await sql`update deliveries set locked_by = 'w', locked_until = now() + interval '1 minute' where hook_id = ${hook}`.execute(store.db);
    await sql`update deliveries set status = 'succeeded', locked_by = null, locked_until = null, finished_at = now() where hook_id = ${hook}`.execute(store.db);
  };
  /** Sessions hand their counters over within about a second of their writes. */
  const counted = (table: string, atLeast: number) =>
    eventually(async () => ((await counters(table)).modified >= atLeast ? true : undefined), `${table}'s counters`, 15_000);

  it("after a burst, analyzes the deliveries so the claim counts held rows from their index; vacuums them only where nothing else does", async () => {
    await burst(3_000);
    await counted("deliveries", 9_000);
    const before = await counters("deliveries");
    // Unless autovacuum came by meanwhile, the burst left no statistics: a full scan for a handful of held rows.
    if (!before.autoanalyzed) expect(await heldPlan()).toMatch(/Seq Scan on deliveries/);

    const vacuum = kind === "pglite";
    const done = await tendTables(store.db, { vacuum });
    expect(done).toContainEqual({ table: "deliveries", analyzed: true, vacuumed: vacuum });
    // The events only had rows inserted: vacuumed by the inserted-rows rule alone.
    expect(done).toContainEqual({ table: "events", analyzed: true, vacuumed: vacuum });
    expect(await heldPlan()).toMatch(/Index Scan using deliveries_held_idx/);
    const after = await counters("deliveries");
    expect(after.analyzed).not.toBeNull();
    if (vacuum) expect(after.vacuumed).not.toBeNull();
    else expect(after.vacuumed, "not asked to").toBeNull();
  });

  it("leaves alone a table whose changes are under the bar: 1,000 rows and a tenth of the table", async () => {
    await tendTables(store.db, { vacuum: true });
    const live = Number((await sql<{ n: string }>`select count(*) as n from deliveries`.execute(store.db)).rows[0]!.n);
    // Inserted and updated once: 2 × under changes, just under the bar.
    const under = Math.floor((1_000 + 0.1 * live) / 2) - 50;
    const hook = await hookWithDeliveries(store, accountId, under);
    await sql`update deliveries set attempts = attempts + 1 where hook_id = ${hook}`.execute(store.db);
    await counted("deliveries", 2 * under);
    expect(await tendTables(store.db, { vacuum: true })).toEqual([]);

    // And past it.
    await sql`update deliveries set attempts = attempts + 1 where hook_id = ${hook}`.execute(store.db);
    await sql`update deliveries set attempts = attempts + 1 where hook_id = ${hook}`.execute(store.db);
    await counted("deliveries", 4 * under);
    expect(await tendTables(store.db, { vacuum: false })).toEqual([{ table: "deliveries", analyzed: true, vacuumed: false }]);
  });

  it("vacuums without analyzing what was analyzed since", async () => {
    await burst(1_500);
    await counted("deliveries", 4_500);
    expect(await tendTables(store.db, { vacuum: false })).toContainEqual({ table: "deliveries", analyzed: true, vacuumed: false });
    expect(await tendTables(store.db, { vacuum: true })).toContainEqual({ table: "deliveries", analyzed: false, vacuumed: true });
    expect((await counters("deliveries")).vacuumed).not.toBeNull();
  });

  it("idle rounds, one every interval, say nothing; a server without autovacuum is told once", async () => {
    await tendTables(store.db, { vacuum: true });
    const autovacuumOff = (await sql<{ off: boolean }>`select current_setting('autovacuum') = 'off' as off`.execute(store.db)).rows[0]!.off;
    const lines: Array<{ msg: string; tables?: unknown }> = [];
    let rounds = 0;
    const stop = startTableUpkeep({
      store: { ...store, db: afterStatements(store.db, (text) => text.includes("from pg_stat_user_tables"), () => void rounds++) },
      logger: createLogger("debug", { write: (line: string) => void lines.push(JSON.parse(line)) }),
      intervalMs: 20,
    });
    await eventually(async () => (rounds >= 4 ? true : undefined), "four rounds", 5_000);
    await stop();
    expect(lines.filter((line) => line.msg === "tended tables")).toEqual([]);
    expect(lines.filter((line) => line.msg.startsWith("autovacuum is off on this server"))).toEqual(
      kind === "postgres" && autovacuumOff ? [expect.objectContaining({ tables: [...CHURNING_TABLES] })] : [],
    );
  });

  it("counts only tables the role owns: PostgreSQL would skip the others with a warning, every round", async () => {
    await burst(1_500);
    await counted("deliveries", 4_500);
    const stranger = `hookline_upkeep_${process.pid}`;
    await sql`create role ${sql.id(stranger)} nologin`.execute(store.db);
    try {
      const asStranger = await store.db.transaction().execute(async (trx) => {
        await sql`set local role ${sql.id(stranger)}`.execute(trx);
        return tendTables(trx, { vacuum: false });
      });
      expect(asStranger).toEqual([]);
    } finally {
      await sql`drop role ${sql.id(stranger)}`.execute(store.db);
    }
    expect(await tendTables(store.db, { vacuum: false })).toContainEqual({ table: "deliveries", analyzed: true, vacuumed: false });
  });

  it("runs in rounds from start to stop: vacuums on PGlite only, warns once of a server without autovacuum; a stop ends the round after its table, waits for it, and none follows", async () => {
    const autovacuumOff = (await sql<{ off: boolean }>`select current_setting('autovacuum') = 'off' as off`.execute(store.db)).rows[0]!.off;
    const lines: Array<{ msg: string; tables?: unknown }> = [];
    const logger = createLogger("debug", { write: (line: string) => void lines.push(JSON.parse(line)) });
    // Several tables over the bar (deliveries, events), and each tending statement held until let go.
    await burst(1_500);
    await counted("deliveries", 4_500);
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let tending = 0;
    const held = afterStatements(
      store.db,
      (text) => /^\s*(analyze|vacuum)/.test(text),
      async () => {
        tending++;
        await gate;
      },
    );
    const stop = startTableUpkeep({ store: { ...store, db: held }, logger, intervalMs: 50 });
    await eventually(async () => (tending > 0 ? true : undefined), "a round tending its first table", 10_000);
    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped, "waits for the round under way").toBe(false);
    letGo();
    await stopping;
    const tended = lines.filter((line) => line.msg === "tended tables");
    expect(tended, "one round, ended after its first table").toHaveLength(1);
    expect(tended[0]!.tables).toEqual([{ table: "deliveries", analyzed: true, vacuumed: kind === "pglite" }]);
    // A server's vacuuming stays autovacuum's, or the DBA's who turned it off: told once.
    const warned = lines.filter((line) => line.msg.startsWith("autovacuum is off on this server"));
    expect(warned).toHaveLength(kind === "postgres" && autovacuumOff ? 1 : 0);
    const stoppedAt = (await counters("deliveries")).analyzed;
    await burst(1_500);
    await counted("deliveries", 4_500);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await counters("deliveries")).analyzed, "no round after the stop").toEqual(stoppedAt);
    expect(lines.filter((line) => line.msg === "table upkeep failed")).toEqual([]);
  });
});
