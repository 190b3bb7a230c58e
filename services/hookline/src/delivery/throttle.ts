/**
 * Throttling (a hook's `rate_limit`, deliveries per second across every
 * worker; Svix `throttleRate`) is decided in the claim, as GCRA on
 * `hooks.throttle_tat` (store/claim-deliveries.ts): each claimed row of a
 * throttled hook comes with the time it may start, 1/rate after the one
 * before it, whichever worker claimed it. The worker holds such rows without
 * a slot until then (held-rows.ts).
 *
 * A claim takes a throttled hook's rows only as far as this horizon ahead,
 * so paced rows wait in a worker at most this long — far inside any lease —
 * and a burst never holds more than rate × horizon rows.
 */
export const THROTTLE_HORIZON_MS = 1_000;
