import { Kysely, Migrator, PostgresDialect } from "kysely";
import postgres from "postgres";
import { migrationProvider } from "./migrations/index.js";
import { embeddedStartParams, initdbApart, needsInitdb } from "./pglite-data-dir.js";
import { createPglitePool } from "./pglite-pool.js";
import { PostgresJsDialect } from "./postgres-js-dialect.js";
import type { Database } from "./schema.js";

export type StoreKind = "pglite" | "postgres";

/** A handle on the database: the typed query builder plus what kysely does not cover. */
export interface Store {
  db: Kysely<Database>;
  kind: StoreKind;
  /** Subscribes to a NOTIFY channel; resolves to the function that unsubscribes. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Runs fire-and-forget work on the store (an API key's last-used touch, a
   * NOTIFY hint) that no caller awaits: `close()` waits for it before the
   * pool goes, and once closing has begun new work is skipped, so nothing
   * runs on a destroyed pool ("driver has already been destroyed").
   */
  background(work: () => Promise<unknown>): void;
  /** Waits for background work, then closes the pool. Everything else using the store must have stopped first. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** postgres:// URL; when absent, embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** PGlite folder, or "memory://" for an in-memory database. */
  dataDir: string;
  /**
   * PostgreSQL connections this store may open, at most (PGlite has one):
   * see `statementConnections` for how they are shared out.
   */
  poolSize: number;
}

/**
 * How many of a pool's `poolSize` PostgreSQL connections carry statements
 * outside transactions; the rest are for transactions, each of which holds
 * one for its whole length (postgres-js-dialect.ts). Under 4 there is one
 * pool for both (0 here).
 *
 * Few connections for statements, because postgres.js pipelines statements
 * on a busy connection when none is idle, and each connection is a backend
 * process that wakes for every write: with the whole pool of 10 open to
 * reads, 50 concurrent `GET /v1/hooks/{id}` on two API loops kept 20
 * backends busy and answered 5,800–8,900 a second; with 3 for statements
 * and 7 for transactions, 8,400–11,500 (bench/README.md, issue 20's sixth run).
 * Transactions keep most of the pool: a batch publish holds its
 * connection for its whole transaction, and a pool of 4 for everything
 * slowed batch publishing by ≈15%. While the statement connections are stuck (a
 * statement out for more than a moment: a lock wait, a slow read),
 * statements go to free transaction connections instead (PoolLoad in
 * postgres-js-dialect.ts).
 */
export function statementConnections(poolSize: number): number {
  return poolSize < 4 ? 0 : Math.min(3, Math.floor(poolSize / 3));
}

const INT8_OID = 20;

/**
 * Opens the store: PostgreSQL through postgres.js when a URL is given, PGlite
 * otherwise. Both return int8 columns as JavaScript numbers, so the rest of
 * the code sees one shape whichever database is behind it.
 *
 * @example
 * const store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
 * await migrateToLatest(store);
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const store = options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize) : await openPglite(options.dataDir);
  return withBackgroundWork(store);
}

/** Adds `background` to a store and makes its `close` wait for that work first (see `Store.background`). */
function withBackgroundWork(store: Omit<Store, "background">): Store {
  const pending = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;
  return {
    ...store,
    background(work) {
      if (closing) return;
      const running = work().catch(() => {});
      pending.add(running);
      void running.finally(() => pending.delete(running));
    },
    close() {
      closing ??= Promise.allSettled([...pending]).then(() => store.close());
      return closing;
    },
  };
}

function openPostgres(url: string, poolSize: number): Omit<Store, "background"> {
  const forStatements = statementConnections(poolSize);
  const transactions = connectPostgres(url, poolSize - forStatements);
  const statements = forStatements > 0 ? connectPostgres(url, forStatements) : transactions;
  const db = new Kysely<Database>({ dialect: new PostgresJsDialect({ statements, transactions }) });
  return {
    db,
    kind: "postgres",
    async listen(channel, onNotify) {
      // postgres.js listens on a connection of its own, outside `max`.
      const subscription = await transactions.listen(channel, onNotify);
      return () => subscription.unlisten();
    },
    close: () => db.destroy(),
  };
}

function connectPostgres(url: string, max: number) {
  return postgres(url, {
    max,
    onnotice: () => {},
    // While the database is down, statements wait for their connection's
    // reconnect delay before they can fail; postgres.js grows it to 20 s, so
    // requests would hang instead of answering 503. Capped at a quarter
    // second (a refused connect costs next to nothing), and a connect that
    // gets no answer gives up after 5 s instead of 30.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.25),
    connect_timeout: 5,
    types: {
      int8: { to: INT8_OID, from: [INT8_OID], serialize: (n: number) => String(n), parse: (s: string) => Number(s) },
    },
  });
}

async function openPglite(dataDir: string): Promise<Omit<Store, "background">> {
  // Loaded only here: a PostgreSQL process never needs the WASM build (~8 MB
  // of RSS under plain node, ~38 MB through tsx).
  const { PGlite } = await import("@electric-sql/pglite");
  if (needsInitdb(dataDir)) await initdbApart(dataDir);
  const pglite = await PGlite.create(dataDir, { parsers: { [INT8_OID]: Number }, startParams: embeddedStartParams(PGlite.defaultStartParams) });
  const pool = createPglitePool(pglite);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: "pglite",
    async listen(channel, onNotify) {
      // LISTEN is a statement on the one connection: take the pool's turn so it
      // never lands inside another caller's transaction.
      const connection = await pool.connect();
      try {
        return await pglite.listen(channel, onNotify);
      } finally {
        connection.release();
      }
    },
    close: () => db.destroy(),
  };
}

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
