import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import type { BenchConfig } from "../config.js";
import { createAccountKey, createHook, expectApi } from "../hookline-client.js";
import { startHookline, type HooklineProcess } from "../hookline-process.js";
import { epochNow, startReceiver, type Receiver } from "../receiver-server.js";
import { progress, ratioRow, round, type BenchRow } from "../report.js";
import { createScratchDb, type ScratchDb } from "../scratch-db.js";
import { newSecret } from "../signed-request.js";
import { publishEvents, type PublishMode } from "./hookline-delivery.js";

const S = "large";
const STALL_MS = 15_000;
/** Retention pruning is watched for at most this long. */
const PRUNE_WATCH_MS = 60_000;
/** Seeded rows finished this long ago: past the default 30-day retention. */
const SEED_AGE = "40 days";

type Phase = { publish: number | null; drain: number | null; note: string };

/**
 * Cost as the tables grow (PRODUCT.md §9, issue 10 item 6): the same
 * publish-then-drain run on an empty database and again with
 * `largeDeliveries` finished deliveries (one attempt each) and `largeEvents`
 * events behind, then retention pruning of those old rows against the drain
 * rate. The cluster runs with autovacuum off (FINDINGS.md), so every phase
 * starts after `VACUUM ANALYZE`, as autovacuum would have left it.
 *
 * @example
 * const rows = await largeTablesScenario(readConfig(process.env))
 */
export async function largeTablesScenario(config: BenchConfig): Promise<BenchRow[]> {
  const receiver = await startReceiver();
  const db = await createScratchDb(config.adminUrl, "large");
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    // The first start migrates the scratch database; the phases reuse one account and hook.
    const setup = await startHookline(config.adminUrl, "api", { db });
    let key: string;
    let accountId: string;
    try {
      key = await createAccountKey(setup, "bench-large");
      accountId = (await expectApi(setup.url, "GET", "/v1/accounts/me", key, 200)).id;
      await createHook(setup.url, key, `${receiver.url}/large`, newSecret());
    } finally {
      await setup.stop();
    }
    const n = Math.min(config.deliveries, 10_000);
    progress("large: empty database");
    await sql`vacuum analyze`;
    const empty = await phase(config, db, receiver, key, n);
    progress(`large: seeding ${config.largeDeliveries} finished deliveries, ${config.largeEvents} events`);
    const seededAt = epochNow();
    await seed(sql, accountId, config.largeDeliveries, config.largeEvents);
    const seedSeconds = round((epochNow() - seededAt) / 1000, 1);
    await sql`vacuum analyze`;
    progress("large: large database");
    const large = await phase(config, db, receiver, key, n);
    progress("large: retention pruning");
    const prune = await pruneRate(config, db, sql, accountId);
    const row = (name: string, value: number | null, unit: string, note?: string): BenchRow => ({ scenario: S, name, value, unit, ...(note ? { note } : {}) });
    const rows = [
      row("publish, empty database", empty.publish, "events/s", empty.note),
      row("publish, large database", large.publish, "events/s", `${config.largeDeliveries} finished deliveries, ${config.largeEvents} events behind (seeded in ${seedSeconds} s)`),
      row("worker drain, empty database", empty.drain, "deliveries/s", "worker-only process, first→last delivery"),
      row("worker drain, large database", large.drain, "deliveries/s"),
      row("retention prune rate", prune.rate, "deliveries/s", prune.note),
    ];
    return [
      ...rows,
      ratioRow(S, "publish large / empty", rows[1], rows[0], "target ≥ 0.9"),
      ratioRow(S, "drain large / empty", rows[3], rows[2], "target ≥ 0.9"),
      ratioRow(S, "prune rate / drain rate (large)", rows[4], rows[3], "≥ 1: pruning keeps up with deliveries finishing"),
    ];
  } finally {
    await sql.end();
    await db.drop();
    await receiver.close();
  }
}

/** Publishes `n` events through an API-only process, then drains them with a worker-only one (retention off). */
async function phase(config: BenchConfig, db: ScratchDb, receiver: Receiver, key: string, n: number): Promise<Phase> {
  const env = { HOOKLINE_RETENTION_SECONDS: "0" };
  const mode: PublishMode = { kind: "single", publishers: config.publishers };
  const api = await startHookline(config.adminUrl, "api", { db, env });
  let publish: number | null;
  try {
    const startedAt = epochNow();
    const { accepted, firstRejection } = await publishEvents(api.url, key, n, mode);
    if (accepted < n) throw new Error(`${accepted} of ${n} events accepted: ${firstRejection}`);
    publish = round(n / ((epochNow() - startedAt) / 1000));
  } finally {
    await api.stop();
  }
  receiver.reset("/large");
  let worker: HooklineProcess | undefined;
  try {
    worker = await startHookline(config.adminUrl, "worker", { db, env });
    const lastAt = await receiver.waitFor(n, STALL_MS).catch(() => null);
    const firstAt = receiver.firstAt();
    const drain = lastAt === null || firstAt === undefined ? null : round((n - 1) / ((lastAt - firstAt) / 1000));
    return { publish, drain, note: `N=${n} events × 1 hook, single publishes c=${config.publishers}${lastAt === null ? `; drain STALLED at ${receiver.count()}` : ""}` };
  } finally {
    await worker?.stop();
  }
}

/**
 * Set-based seeding: one INSERT … SELECT generate_series per table, so a
 * million rows take seconds, not a million round trips. The rows belong to
 * the bench account but are finished and old: they weigh on the tables and
 * indexes, never on the queue.
 */
async function seed(sql: postgres.Sql, accountId: string, deliveries: number, events: number): Promise<void> {
  const [hook] = await sql<{ id: number }[]>`select id from hooks where account_id = ${accountId} limit 1`;
  await sql`
    insert into events (account_id, type, data, deliveries_count, created_at)
    select ${accountId}, 'bench.old', '{"seq":0}', ${Math.ceil(deliveries / events)}, now() - ${SEED_AGE}::interval
    from generate_series(1, ${events}::int)`;
  const [range] = await sql<{ lo: number }[]>`select min(id)::int as lo from events where type = 'bench.old'`;
  await sql`
    insert into deliveries (event_id, hook_id, account_id, status, attempts, next_attempt_at, last_attempt_at, last_response_status, finished_at, created_at, updated_at)
    select ${range!.lo}::bigint + (i % ${events}::int), ${hook!.id}, ${accountId}, 'succeeded', 1, t, t, 200, t, t, t
    from generate_series(0, ${deliveries - 1}::int) i, lateral (select now() - ${SEED_AGE}::interval + i * interval '1 ms' as t) x`;
  await sql`
    insert into delivery_attempts (delivery_id, attempted_at, duration_ms, request_headers, response_status, response_body)
    select id, finished_at, 12, '{"content-type":"application/json"}', 200, ''
    from deliveries where status = 'succeeded' and finished_at < now() - interval '1 day'`;
}

/** Runs a worker with retention on (1 s interval) and measures how fast the seeded rows go. */
async function pruneRate(config: BenchConfig, db: ScratchDb, sql: postgres.Sql, accountId: string): Promise<{ rate: number | null; note: string }> {
  const old = async () => Number((await sql`select count(*)::int as n from deliveries where account_id = ${accountId} and finished_at < now() - interval '1 day'`)[0]!.n);
  const before = await old();
  const worker = await startHookline(config.adminUrl, "worker", { db, env: { HOOKLINE_RETENTION_INTERVAL_MS: "1000" } });
  const startedAt = epochNow();
  let left = before;
  try {
    while (left > 0 && epochNow() - startedAt < PRUNE_WATCH_MS) {
      await sleep(1_000);
      left = await old();
    }
  } finally {
    await worker.stop();
  }
  const seconds = (epochNow() - startedAt) / 1000;
  const deleted = before - left;
  return {
    rate: deleted > 0 ? round(deleted / seconds) : null,
    note: `${deleted} of ${before} old deliveries (with their attempts) pruned in ${round(seconds, 1)} s; retention interval 1 s, 100 batches of 1,000 per round`,
  };
}
