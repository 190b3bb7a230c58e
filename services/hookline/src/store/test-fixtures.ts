import { randomBytes } from "node:crypto";
import { type CompiledQuery, type Kysely, type KyselyPlugin, type QueryId, type RootOperationNode, sql } from "kysely";
import postgres from "postgres";
import { insertAccount } from "./accounts.js";
import { migrateToLatest, openStore, type Store } from "./database.js";
import type { Database, HookTable } from "./schema.js";

/**
 * A migrated in-memory PGlite with one account, for the store's statement
 * tests (the HTTP-level suites in test/ cover PostgreSQL too).
 */
export async function openFixtureStore(): Promise<{ store: Store; accountId: string }> {
  const store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
  await migrateToLatest(store);
  const account = await insertAccount(store.db, "a");
  return { store, accountId: account.id };
}

/**
 * A new, empty database `hookline_<label>_<pid>_<random>` on the PostgreSQL
 * server at `serverUrl` (TEST_DATABASE_URL), for store tests that open their
 * own stores on it. `drop` removes it, ending any session still on it.
 *
 * @example
 * const database = await scratchPostgresDatabase(process.env.TEST_DATABASE_URL!, "lost");
 * try { const store = await openStore({ databaseUrl: database.url, dataDir: "", poolSize: 1 }); … } finally { await database.drop(); }
 */
export async function scratchPostgresDatabase(serverUrl: string, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `hookline_${label}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/**
 * The databases a store test runs on: PGlite always, and a fresh PostgreSQL
 * database on TEST_DATABASE_URL when it is set (dropped by `close`), each
 * migrated with one account.
 *
 * @example
 * describe.each(fixtureBackends())("x ($kind)", ({ open }) => { beforeAll(async () => ({ store, accountId, close } = await open())); });
 */
export function fixtureBackends(): Array<{ kind: "pglite" | "postgres"; open: () => Promise<{ store: Store; accountId: string; close: () => Promise<void> }> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  const pglite = async () => {
    const opened = await openFixtureStore();
    return { ...opened, close: () => opened.store.close() };
  };
  const postgresql = async () => {
    const database = await scratchPostgresDatabase(serverUrl!, "store");
    const store = await openStore({ databaseUrl: database.url, dataDir: "", poolSize: 3 });
    await migrateToLatest(store);
    const account = await insertAccount(store.db, "a");
    const close = async () => {
      await store.close();
      await database.drop();
    };
    return { store, accountId: account.id, close };
  };
  return [{ kind: "pglite", open: pglite }, ...(serverUrl ? [{ kind: "postgres" as const, open: postgresql }] : [])];
}

/** A hook with `fields` and `deliveries` pending rows due now (one event each); returns the hook id. */
export async function hookWithDeliveries(store: Store, accountId: string, deliveries: number, fields: Partial<Record<keyof HookTable, unknown>> = {}): Promise<number> {
  const hook = await store.db
    .insertInto("hooks")
    .values({ account_id: accountId, url: "http://127.0.0.1:9/", events: ["*"], secret: "123456", retries: 5, is_active: true, http_verb: "post", insecure_ssl: false, ...fields } as never)
    .returning("id")
    .executeTakeFirstOrThrow();
  if (deliveries > 0) {
    await sql`
      with ev as (insert into events (account_id, type, data, deliveries_count) select ${accountId}, 'x', '{}'::json, 1 from generate_series(1, ${deliveries}) returning id)
      insert into deliveries (event_id, hook_id, account_id, next_attempt_at) select ev.id, ${hook.id}, ${accountId}, now() - interval '1 second' from ev`.execute(store.db);
  }
  return hook.id;
}

/**
 * `db` with every statement it sends recorded (raw ones as their SQL text,
 * whitespace folded; built ones as their node kind): the round trips a call
 * makes, on the real database.
 *
 * @example
 * const { db: counted, statements } = recordStatements(store.db); await insertEventBatch(counted, events); expect(statements).toHaveLength(1);
 */
export function recordStatements(db: Kysely<Database>): { db: Kysely<Database>; statements: string[] } {
  const statements: string[] = [];
  const textOf = (node: RootOperationNode) => (node.kind === "RawNode" ? node.sqlFragments.join("?").replace(/\s+/g, " ").trim() : node.kind);
  const plugin: KyselyPlugin = {
    transformQuery: ({ node }) => (statements.push(textOf(node)), node),
    transformResult: async ({ result }) => result,
  };
  return { db: db.withPlugin(plugin), statements };
}

/**
 * `db` with `then` run each time a raw statement whose SQL text `matches`
 * comes back, before its caller sees the result: awaited, so a test can
 * count such statements, or hold their callers there until it lets go.
 *
 * @example
 * const gated = afterStatements(store.db, (text) => text.startsWith("vacuum"), () => gate);
 */
export function afterStatements(db: Kysely<Database>, matches: (sqlText: string) => boolean, then: () => void | Promise<void>): Kysely<Database> {
  const spotted = new WeakSet<QueryId>();
  return db.withPlugin({
    transformQuery({ node, queryId }) {
      if (node.kind === "RawNode" && matches(node.sqlFragments.join(""))) spotted.add(queryId);
      return node;
    },
    async transformResult({ result, queryId }) {
      if (spotted.has(queryId)) await then();
      return result;
    },
  });
}

/**
 * Takes one connection of `store`'s pool (an open transaction) until
 * `release` is called: with all of them taken, the store's next statement
 * waits for a connection. `taken` resolves once it holds one, `done` once it
 * has given it back.
 */
export function holdConnection(store: Store): { taken: Promise<void>; release: () => void; done: Promise<void> } {
  let release!: () => void;
  let took!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const taken = new Promise<void>((resolve) => (took = resolve));
  const done = store.db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx);
    took();
    await released;
  });
  return { taken, release, done };
}

/** A node of EXPLAIN (ANALYZE, FORMAT JSON), with the fields the store's plan tests read. */
export type PlanNode = {
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  "Rows Removed by Join Filter"?: number;
  Plans?: PlanNode[];
};
/** A plan's nodes, the root first, depth first. */
export const planNodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(planNodes)];

let probes = 0;

/** A statement's parameter as an untyped SQL literal (PREPARE has typed the parameter). */
function parameterLiteral(value: unknown): string {
  if (value === null || value === undefined) return "null";
  const text = value instanceof Date ? value.toISOString() : Array.isArray(value) ? `{${value.map((v) => `"${String(v).replace(/["\\]/g, "\\$&")}"`).join(",")}}` : String(value);
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Rows and index entries of `relation` (its table and its indexes) that the
 * first statement `run` sends read when run again under EXPLAIN ANALYZE, in
 * a transaction rolled back: under `generic`, with the plan PostgreSQL keeps
 * for a prepared statement after five executions (postgres.js prepares every
 * statement); under `custom`, with one planned for its values.
 *
 * @example
 * expect(await rowsRead(store, "hooks", "generic", (db) => listHooks(db, accountId, { limit: 10 }))).toBeLessThan(100);
 */
export async function rowsRead(store: Store, relation: string, plan: "custom" | "generic", run: (db: Kysely<Database>) => Promise<unknown>): Promise<number> {
  const sent: CompiledQuery[] = [];
  await run(store.db.withPlugin({ transformQuery: ({ node, queryId }) => (sent.push(store.db.getExecutor().compileQuery(node, queryId)), node), transformResult: async ({ result }) => result }));
  const [statement] = sent;
  if (!statement) throw new Error("rowsRead: the call sent no statement");
  // One transaction: the statements share its connection, and it is rolled back (EXPLAIN ANALYZE runs a write).
  const name = `probed_${++probes}`;
  const rolledBack = new Error("rolled back");
  let plans: Array<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }> = [];
  await store.db
    .transaction()
    .execute(async (trx) => {
      await sql.raw(`prepare ${name} as ${statement.sql}`).execute(trx);
      await sql.raw(`set local plan_cache_mode = force_${plan}_plan`).execute(trx);
      ({ rows: plans } = await sql.raw<(typeof plans)[number]>(`explain (analyze, format json) execute ${name}(${statement.parameters.map(parameterLiteral).join(", ")})`).execute(trx));
      await sql.raw(`deallocate ${name}`).execute(trx);
      throw rolledBack;
    })
    .catch((error: unknown) => {
      if (error !== rolledBack) throw error;
    });
  const reads = planNodes(plans[0]!["QUERY PLAN"][0]!.Plan).filter((node) => node["Relation Name"] === relation || node["Index Name"]?.startsWith(`${relation}_`));
  if (reads.length === 0) throw new Error(`rowsRead: the plan reads nothing of ${relation}`);
  return reads.reduce((sum, node) => sum + (node["Actual Rows"] + (node["Rows Removed by Filter"] ?? 0) + (node["Rows Removed by Index Recheck"] ?? 0)) * node["Actual Loops"], 0);
}
