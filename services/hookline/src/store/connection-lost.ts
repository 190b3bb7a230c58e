// postgres.js can reject a promise nobody holds when the server ends a
// connection (admin shutdown 57P01/57P02/57P03, a reset socket) — seen once
// under load while its LISTEN connection reconnected. The pool recovers by
// itself, so such a rejection is logged, not fatal.
const CONNECTION_LOST = new Set(["57P01", "57P02", "57P03", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE"]);

/** True when `reason` is a lost database connection, which postgres.js recovers from by itself. */
export function isConnectionLost(reason: unknown): boolean {
  const code = (reason as { code?: unknown } | null)?.code;
  return typeof code === "string" && CONNECTION_LOST.has(code);
}
