/**
 * The signals that stop Hookline gracefully, each the same way as SIGTERM:
 *
 * - SIGTERM: a supervisor's or `kill`'s stop;
 * - SIGINT: Ctrl-C in a terminal;
 * - SIGHUP: the terminal closed (its session's processes get it). Unhandled,
 *   Node exits at once: the PGlite data folder's lock and owner file and
 *   PGlite's postmaster.pid stayed behind, the next start waited out the
 *   stale lock, and the sequences lost their cached values (ids jumped);
 * - SIGQUIT: the graceful stop of some supervisors and images (nginx's
 *   convention, a Dockerfile's `STOPSIGNAL SIGQUIT`). Unhandled, it would
 *   end the process without any cleanup either.
 *
 * A reload on SIGHUP (a daemon's other convention) has nothing to reload
 * here: every setting is read once at start (config.ts).
 */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Calls `handler` on each of the STOP_SIGNALS (every time one arrives: the
 * handler tells a first signal from a second). Returns a function that stops
 * listening.
 *
 * @example
 * onStopSignal((signal) => hookline.stop());
 */
export function onStopSignal(handler: (signal: StopSignal) => void): () => void {
  const listeners = STOP_SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of listeners) process.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
