import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import postgres from "postgres";
import { removeQueueStream } from "@hookline/server";
import { migrateToLatest, openStore, type Store, type StoreKind } from "@hookline/server/store";

/**
 * The databases every store-touching test runs on: PGlite always, and
 * PostgreSQL when TEST_DATABASE_URL names a server. Under CI=true a missing
 * TEST_DATABASE_URL is an error, so the PostgreSQL half can never be skipped
 * silently.
 *
 * Each test file gets a database of its own (a fresh in-memory PGlite, or a
 * new PostgreSQL database dropped afterwards), so files run in parallel.
 */
export interface TestDatabase {
  kind: StoreKind;
  /** A postgres:// URL for child processes; undefined for PGlite. */
  url: string | undefined;
  store: Store;
  /**
   * With TEST_QUEUE_URL (a nats:// URL) on PostgreSQL: the settings that run
   * this database's servers and workers on the NATS queue, with a stream
   * prefix of its own so test files running in parallel never share a
   * stream (removed by `dispose`). Undefined: the PostgreSQL queue.
   */
  queueEnv?: Record<string, string> | undefined;
  dispose(): Promise<void>;
}

export interface Backend {
  kind: StoreKind;
  create(): Promise<TestDatabase>;
}

export function testBackends(): Backend[] {
  const url = process.env.TEST_DATABASE_URL;
  if (!url && process.env.CI === "true") {
    throw new Error("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL half of the suite must run in CI.");
  }
  // The NATS queue runs beside a shared PostgreSQL only (config.ts): a run
  // with TEST_QUEUE_URL is the suite's NATS pass, and the PGlite half already
  // ran in the main pass.
  if (process.env.TEST_QUEUE_URL) {
    if (!url) throw new Error("TEST_QUEUE_URL needs TEST_DATABASE_URL: the NATS queue keeps its delivery records in PostgreSQL.");
    return [{ kind: "postgres", create: () => createPostgresDatabase(url) }];
  }
  const backends: Backend[] = [{ kind: "pglite", create: createPgliteDatabase }];
  if (url) backends.push({ kind: "postgres", create: () => createPostgresDatabase(url) });
  return backends;
}

async function createPgliteDatabase(): Promise<TestDatabase> {
  const store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
  await migrateToLatest(store);
  return { kind: "pglite", url: undefined, store, dispose: () => store.close() };
}

/** A new, migrated PostgreSQL database on the TEST_DATABASE_URL server. */
export async function createPostgresDatabase(serverUrl: string, poolSize = 5): Promise<TestDatabase> {
  const name = `hookline_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const store = await openStore({ databaseUrl: url.toString(), dataDir: "", poolSize });
  await migrateToLatest(store);
  const queueUrl = process.env.TEST_QUEUE_URL;
  // DATABASE_URL too: the NATS queue runs only beside a shared PostgreSQL (config.ts).
  const queueEnv = queueUrl ? { DATABASE_URL: url.toString(), HOOKLINE_QUEUE_URL: queueUrl, HOOKLINE_QUEUE_PREFIX: `t${name.slice("hookline_test_".length)}`, HOOKLINE_QUEUE_REPLICAS: "1" } : undefined;
  return {
    kind: "postgres",
    url: url.toString(),
    store,
    queueEnv,
    async dispose() {
      await store.close();
      if (queueEnv) await removeQueueStream({ servers: [queueUrl!], prefix: queueEnv.HOOKLINE_QUEUE_PREFIX, replicas: 1, credsFile: undefined, tls: undefined });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/**
 * A second store on `database` reached through `url` instead (a relay in
 * front of the same server), for tests that take the connection away.
 */
export async function openStoreVia(url: string, poolSize = 3): Promise<Store> {
  return openStore({ databaseUrl: url, dataDir: "", poolSize });
}

/**
 * Ends every session of `database` on its server but the caller's
 * (pg_terminate_backend), as an administrator or a crash would. Only ever the
 * test's own database: the cluster is shared.
 */
export async function terminateBackends(serverUrl: string, database: TestDatabase): Promise<number> {
  const name = new URL(database.url!).pathname.slice(1);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    // Not a session still fetching postgres.js's array types: postgres.js
    // leaves that rejection unhandled (main.ts logs it), which fails a test run.
    const rows = await admin`
      select pg_terminate_backend(pid) from pg_stat_activity
      where datname = ${name} and pid <> pg_backend_pid() and query not like '%pg_catalog.pg_type%'`;
    return rows.length;
  } finally {
    await admin.end();
  }
}

/**
 * A digest of every row of every table of `store`: equal digests, unchanged
 * database. Tests take one before and after a request that must write nothing.
 * A key's `last_used_at` is left out: authentication writes it (at most once a
 * minute) whatever then becomes of the request, refused ones included.
 */
export async function databaseDigest(store: Store): Promise<string> {
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(store.db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const digest = await sql<{ d: string | null }>`select md5(coalesce(string_agg((to_jsonb(t) - 'last_used_at')::text, ',' order by (to_jsonb(t) - 'last_used_at')::text), '')) as d from ${sql.table(table_name)} t`.execute(store.db);
    parts.push(`${table_name}:${digest.rows[0]!.d}`);
  }
  return parts.join(" ");
}

