import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";

/**
 * PostgreSQL WAL written between `start()` and `stop()`, from
 * `pg_current_wal_lsn()` on the admin URL's server. Cluster-wide: anything
 * else writing on that server meanwhile counts too, so run the bench alone
 * (bench/README.md). `stop` waits `settleMs` first, for outcome batches
 * still being written after the last receipt.
 *
 * @example
 * const wal = await startWalMeter(config.adminUrl); …; const bytes = await wal.stop();
 */
export async function startWalMeter(adminUrl: string): Promise<{ stop(settleMs?: number): Promise<number> }> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const lsn = async () => (await admin<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`)[0]!.lsn;
  const before = await lsn();
  return {
    async stop(settleMs = 1_000) {
      try {
        await sleep(settleMs);
        const after = await lsn();
        const [row] = await admin<{ bytes: string }[]>`select pg_wal_lsn_diff(${after}::pg_lsn, ${before}::pg_lsn)::bigint::text as bytes`;
        return Number(row!.bytes);
      } finally {
        await admin.end();
      }
    },
  };
}

/** A WAL row: bytes per delivery, the queue named in the note. */
export function walNote(bytes: number, deliveries: number): string {
  return `${Math.round(bytes / 1024)} KiB of WAL for ${deliveries} deliveries (pg_current_wal_lsn before/after; cluster-wide: run alone)`;
}
