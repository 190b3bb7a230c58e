/** Everything the bench reads from the environment, parsed once. */
export type BenchConfig = {
  /** Admin connection: the bench creates and drops its scratch databases through it. */
  adminUrl: string;
  quick: boolean;
  /** Deliveries per throughput run (bare loop, graphile-worker, Hookline). */
  deliveries: number;
  /** Concurrency of the bare loop and of graphile-worker's jobs. */
  concurrency: number;
  fanoutHooks: number;
  latencySamples: number;
  /** autocannon seconds for the routes where decay matters (PK SELECT, GET hook). */
  apiLongSeconds: number;
  /** autocannon seconds for the other routes (constant, POST hook). */
  apiShortSeconds: number;
  /** autocannon seconds of unmeasured load before the PK SELECT, the GET and the single publishes (JIT warm-up, pools filled), the same for anchor and Hookline. */
  apiWarmupSeconds: number;
  connections: number;
  /** postgres.js pool size of the bare Hono anchor. */
  pgPool: number;
  /** Times each scenario runs; the table shows the median and the spread. */
  repeat: number;
  /** Concurrent single-event publishers in the single-publish end-to-end run. */
  publishers: number;
  /** Events per request in the batch-publish runs (the API's maximum is 1,000). */
  batchEvents: number;
  /** Footprint: events batch-published to the built server after the single publishes, all delivered, for its peak RSS under a throughput load. */
  footprintBatchEvents: number;
  /** Large-tables scenario: finished deliveries and events seeded behind the live ones. */
  largeDeliveries: number;
  largeEvents: number;
  /** Fairness: events to the healthy hook per phase (alone, then beside the slow hook). */
  fairnessEvents: number;
  /** Fairness: events queued for the slow hook before the healthy ones. */
  slowBacklog: number;
  /** Fairness: how long the slow receiver takes per request (ms). */
  slowMs: number;
};

/**
 * Reads BENCH_* variables; BENCH_QUICK=1 shrinks every default to a smoke run.
 *
 * @example
 * const config = readConfig(process.env)
 */
export function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const quick = env.BENCH_QUICK === "1" || env.BENCH_QUICK === "true";
  const num = (name: string, full: number, small: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return quick ? small : full;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
    return n;
  };
  return {
    adminUrl: env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test",
    quick,
    deliveries: num("BENCH_DELIVERIES", 20_000, 2_000),
    concurrency: num("BENCH_CONCURRENCY", 64, 64),
    fanoutHooks: num("BENCH_FANOUT_HOOKS", 10_000, 500),
    latencySamples: num("BENCH_LATENCY_SAMPLES", 200, 20),
    apiLongSeconds: num("BENCH_API_SECONDS", 20, 3),
    apiShortSeconds: num("BENCH_API_SHORT_SECONDS", 5, 2),
    apiWarmupSeconds: num("BENCH_API_WARMUP_SECONDS", 5, 1),
    connections: num("BENCH_CONNECTIONS", 50, 50),
    pgPool: num("BENCH_PG_POOL", 10, 10),
    repeat: num("BENCH_REPEAT", 3, 1),
    publishers: num("BENCH_PUBLISHERS", 20, 20),
    batchEvents: Math.min(1_000, num("BENCH_BATCH_EVENTS", 1_000, 1_000)),
    footprintBatchEvents: num("BENCH_FOOTPRINT_BATCH_EVENTS", 20_000, 2_000),
    largeDeliveries: num("BENCH_LARGE_DELIVERIES", 1_000_000, 50_000),
    largeEvents: num("BENCH_LARGE_EVENTS", 100_000, 5_000),
    fairnessEvents: num("BENCH_FAIRNESS_EVENTS", 200, 50),
    slowBacklog: num("BENCH_SLOW_BACKLOG", 1000, 200),
    slowMs: num("BENCH_SLOW_MS", 10_000, 10_000),
  };
}
