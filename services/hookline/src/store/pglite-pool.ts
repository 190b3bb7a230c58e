import type { PGlite } from "@electric-sql/pglite";
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";

/**
 * Presents one PGlite instance as the `pg`-style pool that kysely's
 * `PostgresDialect` expects.
 *
 * PGlite is a single connection. Kysely runs a transaction as BEGIN … COMMIT
 * on the connection it acquired, so two callers sharing the instance at once
 * would interleave their statements inside each other's transactions. The
 * pool therefore hands the connection to one caller at a time (a FIFO lock):
 * code inside a transaction must use its `trx`, never the outer `db`, or it
 * waits for itself.
 */
export function createPglitePool(pglite: PGlite): PostgresPool {
  let tail: Promise<void> = Promise.resolve();

  return {
    async connect(): Promise<PostgresPoolClient> {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const previous = tail;
      tail = previous.then(() => released);
      await previous;
      return {
        query: (async (sql: string, parameters: ReadonlyArray<unknown>) => {
          const result = await pglite.query(sql, parameters as unknown[]);
          return {
            command: commandOf(sql),
            rowCount: result.affectedRows ?? result.rows.length,
            rows: result.rows,
          } as PostgresQueryResult<unknown>;
        }) as PostgresPoolClient["query"],
        release,
      };
    },
    async end() {
      await pglite.close();
    },
  };
}

function commandOf(sql: string): PostgresQueryResult<unknown>["command"] {
  const word = /^\s*(?:with\b[\s\S]*?\)\s*)?(\w+)/i.exec(sql)?.[1]?.toUpperCase();
  return (["UPDATE", "DELETE", "INSERT", "MERGE"].includes(word ?? "") ? word : "SELECT") as PostgresQueryResult<unknown>["command"];
}
