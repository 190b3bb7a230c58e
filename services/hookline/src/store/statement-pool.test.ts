import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, statementConnections, type Store } from "./database.js";

const serverUrl = process.env.TEST_DATABASE_URL;

describe("statementConnections", () => {
  it("gives statements a few connections of a pool of 4 or more, and a smaller pool one pool for both", () => {
    expect([1, 2, 3].map(statementConnections)).toEqual([0, 0, 0]);
    expect([4, 6, 9, 10, 200].map(statementConnections)).toEqual([1, 2, 3, 3, 3]);
  });
});

/** A store's statements and its transactions on connections of their own (database.ts, postgres-js-dialect.ts). */
describe.skipIf(!serverUrl)("statements beside transactions (PostgreSQL)", () => {
  const name = `hookline_pools_${process.pid}_${randomBytes(4).toString("hex")}`;
  let admin: ReturnType<typeof postgres>;
  let url: string;
  const stores: Store[] = [];

  beforeAll(async () => {
    admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const target = new URL(serverUrl!);
    target.pathname = `/${name}`;
    url = target.toString();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await admin?.unsafe(`drop database if exists ${name} with (force)`);
    await admin?.end();
  });

  async function open(poolSize: number): Promise<Store> {
    const store = await openStore({ databaseUrl: url, dataDir: "", poolSize });
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
    expect(pids.size).toBeLessThanOrEqual(statementConnections(10));
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
      const statementPid = await Promise.race([backendPid(store.db), new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), 5000))]);
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
});
