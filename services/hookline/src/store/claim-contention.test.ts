import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "./accounts.js";
import { claimDeliveries, type ClaimedDelivery, type ClaimPolicy } from "./claim-deliveries.js";
import { deleteHook } from "./hooks.js";
import { migrateToLatest, openStore, type Store } from "./database.js";
import { hookWithDeliveries } from "./test-fixtures.js";

const serverUrl = process.env.TEST_DATABASE_URL;

/**
 * The claim under contention, on PostgreSQL (PGlite has one connection, so
 * nothing can hold a lock beside the claim there): while another transaction
 * holds row locks on some due deliveries, a claim takes the others at once
 * (FOR UPDATE SKIP LOCKED). Without SKIP LOCKED the claim waits on the held
 * rows; the statement_timeout turns that wait into a fast failure instead of
 * a hung test.
 */
describe.skipIf(!serverUrl)("claimDeliveries under contention (PostgreSQL)", () => {
  const name = `hookline_claim_${process.pid}_${randomBytes(4).toString("hex")}`;
  let admin: ReturnType<typeof postgres>;
  let holder: ReturnType<typeof postgres>;
  let store: Store;

  beforeAll(async () => {
    admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(serverUrl!);
    url.pathname = `/${name}`;
    store = await openStore({ databaseUrl: url.toString(), dataDir: "", poolSize: 2 });
    await migrateToLatest(store);
    holder = postgres(url.toString(), { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await holder?.end();
    await store?.close();
    await admin?.unsafe(`drop database if exists ${name} with (force)`);
    await admin?.end();
  });

  it("takes the rows nobody holds, at once, while another transaction holds the rest", async () => {
    const account = await insertAccount(store.db, "contention");
    const hookId = await hookWithDeliveries(store, account.id, 4);
    const all = (await store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hookId).orderBy("id").execute()).map(
      (r) => r.id,
    );
    const policy = { hookMaxInFlight: 16, breakerThreshold: 10, throttleHorizonMs: 1000 };

    await holder.begin(async (tx) => {
      const held = (await tx`select id from deliveries where hook_id = ${hookId} order by id limit 2 for update`).map((r) => Number(r.id));
      expect(held).toEqual(all.slice(0, 2));
      const claimed = await store.db.transaction().execute(async (trx) => {
        await sql`set local statement_timeout = '5s'`.execute(trx);
        return claimDeliveries(trx, "w1", 10, 30_000, policy);
      });
      expect(claimed.map((row) => row.id).sort((a, b) => a - b)).toEqual(all.slice(2));
    });
  }, 30_000);

  it("deletes a hook while a worker holds its deliveries and then updates the hook, without a deadlock", async () => {
    const account = await insertAccount(store.db, "delete under contention");
    const hookId = await hookWithDeliveries(store, account.id, 3);
    // The worker's order (claim and outcome statements): delivery rows, then the hook row.
    // Handed out in an object: returning the promise itself would make the
    // transaction wait for the delete before committing, and the delete waits for it.
    const { deleting } = await holder.begin(async (tx) => {
      await tx`select id from deliveries where hook_id = ${hookId} order by id for update`;
      const deleting = deleteHook(store.db, account.id, hookId);
      // Long enough for the delete to queue on its locks (deadlock_timeout is 1 s by default).
      await new Promise((resolve) => setTimeout(resolve, 300));
      await tx`update hooks set updated_at = now() where id = ${hookId}`;
      return { deleting };
    });
    expect(await deleting).toBe(true);
    // The history stays (issue 25: a deleted hook's deliveries are kept for the retention period); nothing is left to send.
    const left = await store.db.selectFrom("deliveries").select("status").where("hook_id", "=", hookId).execute();
    expect(left.map((d) => d.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
  }, 30_000);

  it("walks deliveries_due_order_idx: a claim scans no whole table, however deep the backlog (few hooks, statistics fresh)", async () => {
    const account = await insertAccount(store.db, "deep backlog");
    await hookWithDeliveries(store, account.id, 3000);
    await hookWithDeliveries(store, account.id, 3000);
    await sql`analyze deliveries`.execute(store.db);
    await sql`analyze hooks`.execute(store.db);
    const policy = { hookMaxInFlight: 16, breakerThreshold: 10, throttleHorizonMs: 1000 };
    const seqScans = await store.db.transaction().execute(async (trx) => {
      // This backend's own counters (pg_stat_xact_*), so nothing else running
      // can move them; read before and after, because on PostgreSQL 15+ they
      // also hold what earlier transactions on this connection did until the
      // backend flushes its statistics (at most once a second, when idle):
      // the setup's own scans showed up here on a quiet machine.
      const seqScanCount = async () =>
        Number(
          (await sql<{ seq_scan: string }>`select seq_scan from pg_stat_xact_user_tables where relname = 'deliveries'`.execute(trx))
            .rows[0]!.seq_scan,
        );
      const before = await seqScanCount();
      const claimed = await claimDeliveries(trx, "w-index", 100, 30_000, policy);
      expect(claimed.length).toBeGreaterThan(0);
      return (await seqScanCount()) - before;
    });
    expect(seqScans).toBe(0);
  }, 60_000);

  /**
   * Claim A (`takeA` rows of the hook) holds its transaction open while claim
   * B asks for up to 100 from a snapshot that cannot see A's rows held; B
   * waits for the hook's row A's claim wrote, then A commits. Only this
   * hook's rows: the file's earlier tests left a deep backlog of others.
   */
  async function claimBesideAnother(hookId: number, takeA: number, policy: ClaimPolicy): Promise<[ClaimedDelivery[], ClaimedDelivery[]]> {
    let claimedByA!: () => void;
    const aClaimed = new Promise<void>((resolve) => (claimedByA = resolve));
    let commitA!: () => void;
    const aMayCommit = new Promise<void>((resolve) => (commitA = resolve));
    const a = store.db.transaction().execute(async (trx) => {
      // A scans (and locks) only the rows it takes, as a claim statement holds its locks only while it runs.
      const rows = await claimDeliveries(trx, "wA", takeA, 30_000, policy, [hookId]);
      claimedByA();
      await aMayCommit;
      return rows;
    });
    await aClaimed;
    const b = store.db.transaction().execute(async (trx) => {
      await sql`set local statement_timeout = '10s'`.execute(trx);
      return await claimDeliveries(trx, "wB", 100, 30_000, policy, [hookId]);
    });
    const waiting = async () =>
      Number(
        (await admin.unsafe(`select count(*) as n from pg_stat_activity where datname = '${name}' and wait_event_type = 'Lock'`))[0]!.n,
      );
    for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    commitA();
    return Promise.all([a, b]);
  }

  it("two claims at the same moment give a hook not known healthy at most threshold − failures rows between them (breaker room across workers)", async () => {
    const account = await insertAccount(store.db, "breaker room");
    // Failing: 4 consecutive failures, threshold 10, so 6 rows may be held in all.
    const hookId = await hookWithDeliveries(store, account.id, 50, { consecutive_failures: 4, last_status: "failure", max_in_flight: 100 });
    const policy = { hookMaxInFlight: 16, breakerThreshold: 10, throttleHorizonMs: 1000 };
    const [rowsA, rowsB] = await claimBesideAnother(hookId, 6, policy);
    expect(rowsA).toHaveLength(6);
    expect(rowsB).toHaveLength(0);
    // The rows left are due for the next claim, which sees A's held rows: still no room.
    expect(await claimDeliveries(store.db, "wB", 100, 30_000, policy, [hookId])).toHaveLength(0);
  }, 30_000);
  it("two claims at the same moment give a healthy hook with its own max_in_flight at most that many rows between them", async () => {
    // The kind: a per-hook bound read from a snapshot, so concurrent workers each filled the same room
    // (two worker processes sent a max_in_flight: 1 hook two requests at once, later events first).
    const account = await insertAccount(store.db, "own cap");
    const hookId = await hookWithDeliveries(store, account.id, 20, { consecutive_failures: 0, last_status: "success", max_in_flight: 1 });
    const policy = { hookMaxInFlight: 16, breakerThreshold: 10, throttleHorizonMs: 1000 };
    const [rowsA, rowsB] = await claimBesideAnother(hookId, 1, policy);
    expect(rowsA).toHaveLength(1);
    expect(rowsB).toHaveLength(0);
    expect(await claimDeliveries(store.db, "wB", 100, 30_000, policy, [hookId])).toHaveLength(0);
  }, 30_000);
});
