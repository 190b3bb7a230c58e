import { HooklineError } from "../domain/errors.js";

/**
 * What a lost or unreachable database looks like, from postgres.js and from
 * PostgreSQL itself. Used to answer 503 instead of 500, and by the dialect to
 * decide when a statement may be sent again.
 */

/** postgres.js's own connection errors and Node's socket errors. */
const CONNECTION_ERROR_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  // The database's host name does not resolve (a DNS outage, a service not yet
  // registered): as unreachable as a refused port, and a 503 like it.
  "ENOTFOUND",
]);

/**
 * SQLSTATEs after which the statement did not run to a commit: the server
 * ended the session (admin_shutdown, crash_shutdown, cannot_connect_now,
 * idle_session_timeout) or refused the connection (too_many_connections).
 * PostgreSQL Appendix A, classes 57 and 53.
 */
const ABORTED_SQLSTATES = new Set(["57P01", "57P02", "57P03", "57P05", "53300"]);

function codeOf(error: unknown): string | undefined {
  if (!error || typeof error !== "object") return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * True when the statement never ran to a commit because the session was
 * ended or refused by the server: sending it again on a fresh connection is
 * safe whatever it does.
 */
export function isAbortedBySession(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && ABORTED_SQLSTATES.has(code);
}

/**
 * True when `error` says the database is unreachable or the connection to it
 * was lost (PostgreSQL restarting, a backend terminated, a network drop),
 * rather than that a statement was wrong. SQLSTATE class 08 is "connection
 * exception".
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = codeOf(error);
  if (code === undefined) return false;
  return CONNECTION_ERROR_CODES.has(code) || ABORTED_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code);
}

/** Errors that say no connection could be made at all (as opposed to one lost on the way). */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "CONNECT_TIMEOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "57P03", "53300"]);

/**
 * True when the database could not be reached at all (refused, timed out,
 * starting up, full): sending the statement again at once would only wait
 * for the same answer.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

/**
 * True for a statement that only reads (a plain SELECT: no data-modifying
 * CTE, no row locks, no sequence calls), so running it twice changes nothing.
 */
export function isReadOnlyStatement(sqlText: string): boolean {
  return /^\s*select\b/i.test(sqlText) && !/\b(insert|update|delete|merge|for\s+(no\s+key\s+)?update|for\s+(key\s+)?share|nextval|setval|pg_notify)\b/i.test(sqlText);
}

/**
 * True when a sequence reached its MAXVALUE (SQLSTATE 2200H): ids stop at
 * 2^53 - 1 (migration 2026-11-30T0201) rather than pass what JSON numbers
 * carry exactly.
 */
export function isIdSpaceExhausted(error: unknown): boolean {
  return codeOf(error) === "2200H";
}

/**
 * Runs `statement` and, while it fails because its connection was lost
 * (isDatabaseUnavailable, not isDatabaseUnreachable), runs it again, up to
 * `sends` times in all, a few milliseconds apart. Only for a statement the
 * caller knows is idempotent (the same rows end the same however often it
 * runs): the dialect cannot tell whether a lost write committed, so it does
 * not resend writes itself. After pg_terminate_backend or a restart every
 * pooled connection is dead, and postgres.js learns so one socket at a time:
 * the pause lets it notice before the next send picks one. Throws the last
 * error.
 *
 * @example
 * await resendOnLostConnection(() => db.deleteFrom("t").where("id", "=", id).execute());
 */
export async function resendOnLostConnection<T>(statement: () => Promise<T>, sends = 4): Promise<T> {
  for (let send = 1; ; send++) {
    try {
      return await statement();
    } catch (error) {
      if (send >= sends || !isDatabaseUnavailable(error) || isDatabaseUnreachable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * send));
    }
  }
}

/**
 * True when a statement failed over the data it was given, so the same
 * statement without some of its rows may succeed: SQLSTATE class 22 (data
 * exception: a value PostgreSQL cannot store, such as U+0000 in text or
 * jsonb, a number or interval out of range) or 23 (integrity constraint
 * violation), PostgreSQL Appendix A. Everything else (a lost connection,
 * resources, shutdown, conflicts, a wrong statement, an error that is not
 * PostgreSQL's) fails every row alike.
 */
export function isRowDataError(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Seconds a client should wait after losing the database (a restart takes a few). */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/**
 * SQLSTATEs for a transaction PostgreSQL rolled back to settle a conflict with
 * another one (serialization_failure, deadlock_detected; Appendix A, class
 * 40): nothing was written, and the same request sent again succeeds.
 */
const CONFLICT_ROLLBACK_SQLSTATES = new Set(["40001", "40P01"]);

/** True when the transaction was rolled back by PostgreSQL to resolve a conflict (see above). */
export function isConflictRollback(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && CONFLICT_ROLLBACK_SQLSTATES.has(code);
}

/**
 * True when PostgreSQL refused the statement for want of resources (SQLSTATE
 * class 53, insufficient resources: disk full, out of memory, too many
 * connections, a configuration limit; Appendix A): the database is there but
 * cannot serve now, whatever the request held, and nothing was committed.
 */
function isOutOfResources(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && /^53[0-9A-Z]{3}$/.test(code);
}

/**
 * A database failure as the domain error it means: `unavailable` (with
 * `Retry-After`) for a lost, unreachable or out-of-resources database, or for a transaction
 * rolled back over a conflict with another (a server-side race, never the
 * client's fault, and safe to retry); undefined for anything else, which
 * stays an internal error.
 */
export function databaseErrorAsDomainError(error: unknown): HooklineError | undefined {
  if (isDatabaseUnavailable(error) || isOutOfResources(error)) {
    return new HooklineError("unavailable", "The database is not reachable; retry later.", undefined, DATABASE_RETRY_AFTER_SECONDS);
  }
  if (isConflictRollback(error)) {
    return new HooklineError("unavailable", "The request conflicted with concurrent work and was rolled back; nothing was written. Retry it.", undefined, 1);
  }
  return undefined;
}
