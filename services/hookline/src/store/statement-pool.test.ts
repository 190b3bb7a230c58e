import { sql } from "kysely";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, statementConnections, type Store } from "./database.js";
import { scratchPostgresDatabase } from "./test-fixtures.js";

const serverUrl = process.env.TEST_DATABASE_URL;

describe("statementConnections", () => {
  it("gives statements a few connections of a pool of 4 or more, and a smaller pool one pool for both", () => {
    expect([1, 2, 3].map(statementConnections)).toEqual([0, 0, 0]);
    expect([4, 6, 9, 10, 200].map(statementConnections)).toEqual([1, 2, 3, 3, 3]);
  });
});

/** A store's statements and its transactions on connections of their own (database.ts, postgres-js-dialect.ts). */
describe.skipIf(!serverUrl)("statements beside transactions (PostgreSQL)", () => {
  let database: Awaited<ReturnType<typeof scratchPostgresDatabase>>;
  const stores: Store[] = [];

  beforeAll(async () => {
    database = await scratchPostgresDatabase(serverUrl!, "pools");
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await database?.drop();
  });

  async function open(poolSize: number): Promise<Store> {
    const store = await openStore({ databaseUrl: database.url, dataDir: "", poolSize });
    stores.push(store);
    return store;
  }
  const backendPid = async (db: Store["db"]) => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]!.pid;

  it("runs concurrent statements on the statement connections only, pipelined", async () => {
    const store = await open(10);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.02)`.execute(store.db)),
    );
    const pids = new Set(answers.map((a) => a.rows[0]!.pid));
    expect(pids.size).toBeGreaterThan(0);
    expect(pids.size).toBeLessThanOrEqual(3);
  });

  it("answers a statement while transactions hold every transaction connection, and starts no more transactions than those", async () => {
    const store = await open(4);
    const transactionConnections = 4 - statementConnections(4);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: number[] = [];
    const transactions = Array.from({ length: transactionConnections + 1 }, () =>
      store.db.transaction().execute(async (trx) => {
        started.push(await backendPid(trx));
        await gate;
      }),
    );
    try {
      await expect.poll(() => started.length).toBe(transactionConnections);
      // Bounded: on one shared pool the statement would wait for a transaction to end.
      const statementPid = await Promise.race([
        backendPid(store.db),
        new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), 5000)),
      ]);
      expect(statementPid).not.toBe("waiting");
      expect(started).not.toContain(statementPid);
      // The last transaction waits for a transaction connection, not for the statement's.
      expect(started).toHaveLength(transactionConnections);
    } finally {
      release();
    }
    await Promise.all(transactions);
    expect(started).toHaveLength(transactionConnections + 1);
  });

  /**
   * Holds row 1 of `held` (a transaction outside the store, as another
   * request's or process's would) until `release` is called, and starts
   * `waiters` statements on the store that wait for it, outside a
   * transaction; resolves once PostgreSQL shows them all waiting on the lock.
   */
  async function holdRowUnderWaiters(store: Store, waiters: number) {
    // Two connections: the transaction holding the lock, and one that watches the waiters.
    const holder = postgres(database.url, { max: 2, onnotice: () => {} });
    await holder.unsafe("create table if not exists held (id int primary key, v int)");
    await holder.unsafe("insert into held values (1, 0) on conflict do nothing");
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = holder.begin(async (tx) => {
      await tx`select 1 from held where id = 1 for update`;
      locked();
      await gate;
    });
    await isLocked;
    const waiting = Array.from({ length: waiters }, () => sql`update held set v = v + 1 where id = 1`.execute(store.db));
    await expect
      .poll(
        async () =>
          (await holder`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)[0]!.n,
        { timeout: 5000 },
      )
      .toBe(waiters);
    return {
      async release() {
        release();
        await holding;
        await Promise.all(waiting);
        await holder.end();
      },
    };
  }

  it("answers statements (/readyz's `select 1` among them) while every statement connection has a statement waiting for a lock a transaction holds", async () => {
    const store = await open(10);
    const held = await holdRowUnderWaiters(store, statementConnections(10));
    try {
      // A request that comes once those have waited a moment (readiness probes come every few seconds; lock waits last as long as the transaction holding them).
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Bounded: pipelined behind a waiting statement, they would wait for the lock's release. /readyz's
      // probe is such a `select 1` (http/health): before, it timed out after 1 s and a load balancer took the process out.
      const answers = await within(
        Promise.all(Array.from({ length: 10 }, (_, i) => sql<{ i: number }>`select ${i}::int as i`.execute(store.db))),
        500,
      );
      expect(answers === "waiting" ? answers : answers.map((a) => a.rows[0]!.i)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    } finally {
      await held.release();
    }
  });

  it("a statement waiting for a lock on the one statement connection of a small pool holds up no other statement", async () => {
    const store = await open(4);
    const held = await holdRowUnderWaiters(store, 1);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await within(backendPid(store.db), 500)).not.toBe("waiting");
    } finally {
      await held.release();
    }
  });
});

/** `promise`'s value, or "waiting" when it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "waiting"> {
  return Promise.race([promise, new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), ms).unref())]);
}
