import { setImmediate as nextTurn } from "node:timers/promises";
import { sql, type Kysely } from "kysely";
import type { Logger } from "pino";
import type { Store } from "./database.js";
import type { Database } from "./schema.js";

/**
 * The tables every delivery rewrites or retention deletes from: their
 * statistics go stale and their dead rows pile up fastest.
 */
export const CHURNING_TABLES = ["deliveries", "delivery_attempts", "events", "hooks", "idempotency_keys"] as const;
export type ChurningTable = (typeof CHURNING_TABLES)[number];

/** How often the worker looks at the tables' counters (one read of pg_stat_user_tables). */
export const TABLE_UPKEEP_INTERVAL_MS = 5_000;

/**
 * ANALYZE once this many rows changed since the last one, plus a tenth of
 * the table — autovacuum's rule (`autovacuum_analyze_threshold` 50 +
 * `autovacuum_analyze_scale_factor` 0.1), with a larger base: the point is
 * a table whose shape changed, not every few rows.
 */
const ANALYZE_BASE_ROWS = 1_000;
const ANALYZE_SCALE = 0.1;
/** VACUUM (on PGlite) once this many rows are dead, or were inserted, plus a fifth of the table: autovacuum's insert rule (1,000 + 0.2). */
const VACUUM_BASE_ROWS = 1_000;
const VACUUM_SCALE = 0.2;

/** What one round did to one table. */
export interface TableUpkeep {
  table: ChurningTable;
  analyzed: boolean;
  vacuumed: boolean;
}

/** A table's counters as pg_stat_user_tables keeps them (rows). */
export interface TableCounters {
  /** n_live_tup */
  live: number;
  /** n_dead_tup */
  dead: number;
  /** n_mod_since_analyze: rows inserted, updated or deleted since the last ANALYZE. */
  modified: number;
  /** n_ins_since_vacuum */
  inserted: number;
}

/**
 * What a table's counters call for: ANALYZE once `modified` reaches
 * 1,000 + 10% of `live`; VACUUM (only when `mayVacuum`) once `dead` or
 * `inserted` reaches 1,000 + 20% of `live` — autovacuum's rules with larger
 * bases (the thresholds above).
 *
 * @example
 * upkeepDue({ live: 10_000, dead: 0, modified: 2_000, inserted: 0 }, true); // { analyze: true, vacuum: false }
 */
export function upkeepDue(counters: TableCounters, mayVacuum: boolean): { analyze: boolean; vacuum: boolean } {
  const vacuumBar = VACUUM_BASE_ROWS + VACUUM_SCALE * counters.live;
  return {
    analyze: counters.modified >= ANALYZE_BASE_ROWS + ANALYZE_SCALE * counters.live,
    vacuum: mayVacuum && (counters.dead >= vacuumBar || counters.inserted >= vacuumBar),
  };
}

/**
 * One round of keeping the churning tables fit for the claim's plans.
 *
 * Why Hookline does this itself: the claim counts held rows through the
 * partial index `deliveries_held_idx`, and a table never ANALYZEd (a new
 * install's first burst) has no `null_frac` for `locked_by`, so PostgreSQL
 * takes `locked_by is not null` for 99.5% of rows and scans the whole table
 * instead — every claim, until autovacuum's next round (up to
 * `autovacuum_naptime`, a minute). Measured after 20,000 deliveries on
 * PostgreSQL: an idle claim 3.9 ms against 0.9 ms once analyzed. PGlite runs
 * no autovacuum at all (single-user mode): without this its tables are
 * never analyzed and never vacuumed, so the claim stays on that plan and
 * dead rows and index entries grow for as long as it runs.
 *
 * So: ANALYZE any churning table whose rows changed past autovacuum's rule
 * (above), on either database; VACUUM one whose dead or inserted rows did,
 * only when `vacuum` (nothing else can vacuum it: PGlite). Both `SKIP_LOCKED`: a table another process is
 * already tending is left to it. Only tables the role owns (or is a member
 * of the owner of) are considered: PostgreSQL skips any other with a
 * warning, and the round would count it done every time. The counters are
 * PostgreSQL's own (pg_stat_user_tables), which each session hands over
 * within 1–10 s of its writes (pgstat.c), so a round acts on what the
 * previous seconds did.
 *
 * Not inside a transaction (VACUUM cannot run in one). Between tables the
 * round lets the event loop turn: PGlite runs on this thread, so while a
 * statement of it runs nothing else does (a VACUUM after 20,000 deliveries:
 * ≈ 150 ms). `signal` ends the round before its next table.
 *
 * @example
 * const done = await tendTables(store.db, { vacuum: store.kind === "pglite" }); // [{ table: "deliveries", analyzed: true, vacuumed: true }, …]
 */
export async function tendTables(db: Kysely<Database>, options: { vacuum: boolean; signal?: AbortSignal }): Promise<TableUpkeep[]> {
  const counters = await sql<{ table: ChurningTable; live: number; dead: number; modified: number; inserted: number }>`
    select s.relname as table, s.n_live_tup::float8 as live, s.n_dead_tup::float8 as dead,
      s.n_mod_since_analyze::float8 as modified, s.n_ins_since_vacuum::float8 as inserted
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.relid in (select to_regclass(name) from unnest(${sql.val([...CHURNING_TABLES])}::text[]) as name)
      and pg_has_role(c.relowner, 'USAGE')
    order by s.relname`.execute(db);
  const done: TableUpkeep[] = [];
  for (const row of counters.rows) {
    if (options.signal?.aborted) break;
    const { analyze, vacuum } = upkeepDue(row, options.vacuum);
    if (!analyze && !vacuum) continue;
    const table = sql.table(row.table);
    if (vacuum) await sql`vacuum (skip_locked${analyze ? sql`, analyze` : sql``}) ${table}`.execute(db);
    else await sql`analyze (skip_locked) ${table}`.execute(db);
    done.push({ table: row.table, analyzed: analyze, vacuumed: vacuum });
    await nextTurn();
  }
  return done;
}

/**
 * Runs `tendTables` every `intervalMs` (TABLE_UPKEEP_INTERVAL_MS) in the
 * process that runs the worker, vacuuming too on PGlite. On PostgreSQL
 * vacuuming stays with autovacuum (or with the DBA who turned it off: said
 * once in the log, at the first round). A round that fails is logged and
 * the next one tries again. Returns the stop function, which ends a round under way after its
 * current table and waits for it.
 *
 * @example
 * const stopUpkeep = startTableUpkeep({ store, logger });
 */
export function startTableUpkeep(deps: { store: Store; logger: Logger; intervalMs?: number }): () => Promise<void> {
  const { store, logger } = deps;
  let running: Promise<void> | undefined;
  const stopping = new AbortController();
  let checkedAutovacuum = false;
  const round = async () => {
    if (!checkedAutovacuum) {
      // PGlite answers "on" though it runs none: it is the one vacuumed below.
      const setting = await sql<{ on: boolean }>`select current_setting('autovacuum') = 'on' as on`.execute(store.db);
      checkedAutovacuum = true;
      if (!setting.rows[0]?.on) {
        logger.info({ tables: CHURNING_TABLES }, "autovacuum is off on this server: nothing vacuums Hookline's tables unless you do (VACUUM them on a schedule)");
      }
    }
    const done = await tendTables(store.db, { vacuum: store.kind === "pglite", signal: stopping.signal });
    if (done.length > 0) logger.debug({ tables: done }, "tended tables");
  };
  const timer = setInterval(() => {
    running ??= round()
      .catch((error) => logger.warn({ err: error }, "table upkeep failed"))
      .finally(() => (running = undefined));
  }, deps.intervalMs ?? TABLE_UPKEEP_INTERVAL_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    stopping.abort();
    await running;
  };
}
