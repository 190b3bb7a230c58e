import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import type { ReservedSql, Row, RowList, Sql } from "postgres";
import { isAbortedBySession, isDatabaseUnavailable, isDatabaseUnreachable, isReadOnlyStatement } from "./database-errors.js";

/**
 * The postgres.js pools a dialect runs on: statements outside a transaction
 * on `statements`, transactions each on a connection reserved from
 * `transactions`. One pool may be both (the same object twice).
 */
export interface PostgresJsPools {
  statements: Sql;
  transactions: Sql;
}

/**
 * Kysely over postgres.js, running each statement on the pool and reserving a
 * connection only for transactions. Statements and transactions may have
 * pools of their own (`PostgresJsPools`; database.ts says why): a statement
 * then never waits for a connection that transactions hold, and transactions
 * never for one that is busy with pipelined statements.
 *
 * kysely-postgres-js reserves a connection (`sql.reserve()`) for every
 * statement. A reserved connection whose backend dies (PostgreSQL restart,
 * pg_terminate_backend, a proxy dropping it) goes back to postgres.js's pool
 * without a socket, and statements sent to it hang or fail for good
 * (porsager/postgres#1208) — a delivery worker stalled forever after one
 * connection drop. Pool-level statements are retried on a fresh connection
 * by postgres.js itself, and skip the reserve/release bookkeeping too.
 *
 * A transaction's statements go to its reserved connection; once that
 * session is lost they fail (CONNECTION_CLOSED, so 503) rather than run on
 * whatever session the connection was reconnected with, outside the
 * transaction — postgres.js did the latter until patched
 * (patches/postgres@3.4.9.patch, lost-connections.test.ts).
 */
export class PostgresJsDialect implements Dialect {
  constructor(private readonly pools: PostgresJsPools) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PostgresJsDriver(this.pools);
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

/** How often one statement is sent at most when connections are lost under it. */
const MAX_SENDS = 4;
/** Milliseconds before a statement is sent again, times the sends so far. */
const RESEND_PAUSE_MS = 10;
/** After the database refused a connection, statements fail without trying for this long. */
const FAIL_FAST_MS = 250;

/** A statement taking a lock its session keeps: it pins its connection until released (executeQuery). */
const SESSION_LOCK = "pg_advisory_lock(";

/**
 * Milliseconds the oldest statement in flight on the statement connections
 * may have been out before later statements overflow to an idle transaction
 * connection (`PoolLoad`). Far above a statement's round trip and its wait in
 * a pipeline under load (a few ms), far below /readyz's 1 s.
 */
const STALL_MS = 50;

/** What the pool's connections share about an outage in progress. */
interface OutageState {
  failing: unknown;
  until: number;
}

/**
 * What a driver's connections share about the load on its pools, when
 * statements and transactions have pools of their own.
 *
 * postgres.js pipelines a statement on a busy connection once none is idle,
 * behind whatever that connection runs: with a few statement connections,
 * a few statements waiting for a lock a transaction holds (or just slow)
 * held up every statement after them, /readyz's `select 1` included, for as
 * long as the lock was held, while the transaction connections sat idle.
 * So when every statement connection is busy and the oldest statement on
 * them has been out longer than STALL_MS, a statement goes to the
 * transaction pool instead while a connection there is not reserved by a
 * transaction: it takes an idle one, or pipelines behind other such
 * statements there (a transaction starting meanwhile may wait for those,
 * as on the one pool of before). Under a load of quick statements nothing
 * is that old, and they pipeline on the few connections as before
 * (database.ts says why). A statement pipelined in the first STALL_MS
 * behind a stalled one still waits for it.
 */
interface PoolLoad {
  /** Statements out on the statement pool, oldest first (a Set keeps insertion order). */
  statements: Set<{ since: number }>;
  /** Transaction connections reserved or being reserved. */
  reserved: number;
}

class PostgresJsConnection implements DatabaseConnection {
  #reserved: ReservedSql | undefined;
  constructor(
    private readonly pools: PostgresJsPools,
    private readonly outage: OutageState,
    private readonly load: PoolLoad,
  ) {}

  /** Pins a connection for a transaction: BEGIN … COMMIT must share one. */
  async reserve(): Promise<void> {
    if (this.#reserved) return;
    this.load.reserved++;
    try {
      this.#reserved = await this.pools.transactions.reserve();
    } catch (error) {
      this.load.reserved--;
      throw error;
    }
  }

  release(): void {
    if (!this.#reserved) return;
    this.#reserved.release();
    this.#reserved = undefined;
    this.load.reserved--;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // While the database is known unreachable, statements outside a
    // transaction fail at once: postgres.js would queue them behind its
    // connection attempts, one failing after another, and requests would
    // wait seconds for a 503.
    if (!this.#reserved && this.outage.failing && performance.now() < this.outage.until) throw this.outage.failing;
    // Kysely's migrator takes a session-level advisory lock through one
    // connection() and unlocks it through the same, after its transaction:
    // on the pool the two could land on different sessions, and the lock
    // stayed with a pooled one (the next migration in this process or any
    // other waited for up to an hour). Pinned here, all three share one.
    if (!this.#reserved && query.sql.includes(SESSION_LOCK)) await this.reserve();
    let result: RowList<Row[]>;
    for (let attempt = 1; ; attempt++) {
      try {
        result = await this.#send(query);
        this.outage.failing = undefined;
        break;
      } catch (error) {
        if (isDatabaseUnreachable(error)) {
          this.outage.failing = error;
          this.outage.until = performance.now() + FAIL_FAST_MS;
          throw error;
        }
        // A lost connection (a terminated backend, a restart) fails the
        // statement in flight. Outside a transaction it is sent again, on
        // another connection, when that cannot do anything twice: the server
        // says it aborted the session before a commit, or the statement only
        // reads. Anything else may have committed, so the error stands (the
        // API answers 503 and a client retries with its Idempotency-Key).
        // A few times: a restart ends every pooled connection at once, and the
        // next one picked may be dying too.
        const retry =
          attempt < MAX_SENDS && !this.#reserved && isDatabaseUnavailable(error) && (isAbortedBySession(error) || isReadOnlyStatement(query.sql));
        if (!retry) throw error;
        // postgres.js learns of its dead connections one socket event at a
        // time: sent at once, the statement would take the next dead one
        // (with 10 connections, 15% of reads right after a mass termination
        // failed all their sends). A pause lets it notice them first.
        await new Promise((resolve) => setTimeout(resolve, RESEND_PAUSE_MS * attempt));
      }
    }
    const affects = ["INSERT", "UPDATE", "DELETE", "MERGE"].includes(result.command);
    return {
      rows: Array.from(result.values()) as R[],
      ...(affects ? { numAffectedRows: BigInt(result.count) } : {}),
    };
  }

  async #send(query: CompiledQuery): Promise<RowList<Row[]>> {
    const run = (on: Sql | ReservedSql) => on.unsafe(query.sql, [...query.parameters] as never[], { prepare: true });
    if (this.#reserved) return run(this.#reserved);
    const { statements, transactions } = this.pools;
    // One pool for both: nothing to overflow to, nothing to count.
    if (statements === transactions) return run(statements);
    if (this.#statementsStalled()) return run(transactions);
    const out = { since: performance.now() };
    this.load.statements.add(out);
    try {
      return await run(statements);
    } finally {
      this.load.statements.delete(out);
    }
  }

  /** True when a statement would be pipelined behind one out for over STALL_MS, and a transaction connection can take it instead (`PoolLoad`). */
  #statementsStalled(): boolean {
    const { statements, reserved } = this.load;
    if (statements.size < this.pools.statements.options.max) return false;
    const oldest = statements.values().next().value;
    if (!oldest || performance.now() - oldest.since < STALL_MS) return false;
    return reserved < this.pools.transactions.options.max;
  }

  // biome-ignore lint/correctness/useYield: Kysely's Driver wants an async iterator; with no streaming here it fails on its first next(), as a stream that cannot start would.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("Streaming queries are not supported by this dialect.");
  }
}

class PostgresJsDriver implements Driver {
  readonly #outage: OutageState = { failing: undefined, until: 0 };
  readonly #load: PoolLoad = { statements: new Set(), reserved: 0 };
  constructor(private readonly pools: PostgresJsPools) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return new PostgresJsConnection(this.pools, this.#outage, this.#load);
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const pinned = connection as PostgresJsConnection;
    await pinned.reserve();
    const modes = [settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode].filter(Boolean);
    await pinned.executeQuery(CompiledQuery.raw(`start transaction${modes.length ? ` ${modes.join(", ")}` : ""}`));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }
  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PostgresJsConnection).release();
  }
  async destroy(): Promise<void> {
    const { statements, transactions } = this.pools;
    await Promise.all([transactions.end(), statements === transactions ? undefined : statements.end()]);
  }
}
