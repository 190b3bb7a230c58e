import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { round, type BenchRow } from "./report.js";

/** WAL written between `start` and `stop`, per unit of work (a delivery, a job); NaN where it could not be read. */
export type WalPerUnit = { bytes: number; records: number; fullPageImageBytes: number };

/** How long `stop` waits for the last outcomes to be recorded before it reads the WAL position. */
const SETTLE_TIMEOUT_MS = 30_000;

/**
 * Measures the WAL a run writes (the issue-20 figure): bytes from the WAL
 * position before the run and after it has settled, records and full-page
 * images from `pg_walinspect` over that range (PostgreSQL 15+, contrib; a
 * superuser creates it in the run's database). Without the extension, or
 * when the run's WAL was recycled before it could be read, only bytes are
 * reported. `pg_stat_wal` is not used: backends flush their WAL
 * counters to it lazily (up to a minute when busy), so a run's figure would
 * depend on when that happened.
 *
 * The WAL is the whole cluster's: run the bench on a quiet machine (nothing
 * else writing to that PostgreSQL), or the figure counts others' writes
 * too. A checkpoint is forced before the run so every run starts from the
 * same state (its first write to each page carries a full-page image, the
 * same for product and anchor).
 *
 * `settled` is a query on the run's own database whose `done` column turns
 * true once the work is recorded (Hookline: no delivery left unfinished; the
 * receiver's count alone would stop the meter before the last outcome batch
 * is written).
 *
 * @example
 * const meter = await startWalMeter(db.url, "select count(*) = 0 as done from deliveries where finished_at is null");
 * … run …
 * const perDelivery = await meter.stop(20_000); // { bytes: 1234, records: 9.1, fullPageImageBytes: 40 }
 */
export async function startWalMeter(databaseUrl: string, settled?: string): Promise<{ stop: (units: number) => Promise<WalPerUnit> }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const inspect = await sql`create extension if not exists pg_walinspect`.then(
    () => true,
    () => false,
  );
  await sql`checkpoint`;
  const before = await flushedLsn(sql);
  return {
    stop: async (units) => {
      try {
        if (settled) {
          const deadline = Date.now() + SETTLE_TIMEOUT_MS;
          while (Date.now() < deadline && !(await sql.unsafe(settled))[0]?.done) await sleep(50);
        }
        // pg_walinspect reads only WAL already flushed: both ends are flush positions.
        const after = await flushedLsn(sql);
        const [range] = await sql<{ bytes: string }[]>`select pg_wal_lsn_diff(${after}::pg_lsn, ${before}::pg_lsn)::text as bytes`;
        const per = (n: number) => n / Math.max(1, units);
        if (!inspect) return { bytes: per(Number(range!.bytes)), records: Number.NaN, fullPageImageBytes: Number.NaN };
        // A busy cluster (other databases writing) can recycle the run's first
        // segments before they are read: the bytes still stand, the records are unknown.
        const stats = await sql<{ records: string; fpi: string }[]>`
          select coalesce(sum(count), 0)::text as records, coalesce(sum(fpi_size), 0)::text as fpi
          from pg_get_wal_stats(${before}::pg_lsn, ${after}::pg_lsn)`.then(
          ([row]) => row,
          (error: unknown) => {
            if (!/has already been removed/.test(String((error as Error)?.message))) throw error;
            return { records: "NaN", fpi: "NaN" };
          },
        );
        if (process.env.BENCH_WAL_BY_RELATION === "1") await printWalByRelation(sql, before, after, Math.max(1, units));
        return { bytes: per(Number(range!.bytes)), records: per(Number(stats!.records)), fullPageImageBytes: per(Number(stats!.fpi)) };
      } finally {
        await sql.end();
      }
    },
  };
}

/**
 * BENCH_WAL_BY_RELATION=1: where a run's WAL went, per unit of work, by
 * relation (table or index of the run's database; others by file number)
 * and record type, largest first, on stderr — what a change to the schema
 * or the queue's statements should move (issue 20).
 */
async function printWalByRelation(sql: postgres.Sql, before: string, after: string, units: number): Promise<void> {
  const rows = await sql<{ relation: string; kind: string; records: number; bytes: number }[]>`
    with r as (
      select resource_manager || ' ' || record_type as kind, record_length,
        substring(block_ref from 'rel \\d+/\\d+/(\\d+)') as filenode
      from pg_get_wal_records_info(${before}::pg_lsn, ${after}::pg_lsn))
    select coalesce(c.relname, r.filenode, '-') as relation, r.kind, count(*)::int as records, sum(r.record_length)::int as bytes
    from r left join pg_class c on c.relfilenode::text = r.filenode
    group by 1, 2 order by bytes desc limit 25`;
  process.stderr.write(`  WAL by relation, per unit of work (${units}):\n`);
  for (const row of rows) {
    process.stderr.write(`    ${row.relation.padEnd(34)} ${row.kind.padEnd(24)} ${(row.records / units).toFixed(2).padStart(6)} records ${Math.round(row.bytes / units).toString().padStart(6)} B\n`);
  }
}

async function flushedLsn(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ lsn: string }[]>`select pg_current_wal_flush_lsn()::text as lsn`;
  return row!.lsn;
}

/**
 * The bench rows for one measured run: bytes and records per unit, with the
 * full-page images in the note.
 *
 * @example
 * rows.push(...walRows("delivery", "Hookline (batch)", wal, "per delivery"))
 */
export function walRows(scenario: string, who: string, wal: WalPerUnit, per: string, context?: string): BenchRow[] {
  const value = (x: number, digits: number) => (Number.isNaN(x) ? null : round(x, digits));
  return [
    {
      scenario,
      name: `${who} WAL bytes ${per}`,
      value: value(wal.bytes, 0),
      unit: "B",
      note: `${context ? `${context}; ` : ""}whole cluster; ${Number.isNaN(wal.fullPageImageBytes) ? "records need pg_walinspect" : `${round(wal.fullPageImageBytes)} B of it full-page images`}`,
    },
    { scenario, name: `${who} WAL records ${per}`, value: value(wal.records, 1), unit: "records" },
  ];
}
