import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Store } from "../store/database.js";
import { queueStats } from "../store/deliveries.js";

/**
 * Hookline's Prometheus metrics, on a registry of their own (not prom-client's
 * global one) so tests and embedders can run several instances in a process.
 * The queue gauges are read from the database when scraped: they describe the
 * shared queue, whichever process serves /metrics.
 *
 * @example
 * const metrics = createMetrics(store);
 * metrics.deliveries.inc({ outcome: "succeeded" });
 * const text = await metrics.registry.metrics();
 */
export function createMetrics(store: Store, options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  // A delivery worker thread counts its own deliveries but shares the process:
  // its process metrics would count the same process twice.
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: "hookline_process_" });
  const sources: MetricsSource[] = [];
  const deliveries = new Counter({
    name: "hookline_deliveries_total",
    help: "Delivery outcomes recorded by this process's worker: succeeded, retry (a failed attempt with retries left), failed (retries exhausted or 410), cancelled (hook inactive).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: "hookline_attempt_duration_seconds",
    help: "Duration of delivery attempts, from sending the request to reading the (capped) response.",
    labelNames: ["result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
    registers: [registry],
  });
  const queue = new Gauge({
    name: "hookline_queue_depth",
    help: "Pending deliveries: due (waiting for a worker) and scheduled (a later retry, or held by a worker).",
    labelNames: ["state"] as const,
    registers: [registry],
  });
  const oldestAge = new Gauge({
    name: "hookline_queue_oldest_due_age_seconds",
    help: "How long the oldest due delivery has been waiting for a worker (0 when none is due).",
    registers: [registry],
  });
  return {
    registry,
    /** Adds the counters of another registry (a worker thread's) to what `render` shows. */
    addSource(source: MetricsSource): void {
      sources.push(source);
    },
    /** The Prometheus text of this registry plus every added source, summed per series. */
    async render(): Promise<string> {
      if (sources.length === 0) return registry.metrics();
      const parts = await Promise.all([registry.getMetricsAsJSON(), ...sources.map((source) => source().catch(() => []))]);
      return AggregatorRegistry.aggregate(parts).metrics();
    },
    deliveries,
    attemptDuration,
    /** Reads the queue gauges from the database; called before each scrape. */
    async refreshQueue(): Promise<void> {
      const stats = await queueStats(store.db);
      queue.set({ state: "due" }, stats.due);
      queue.set({ state: "scheduled" }, stats.scheduled);
      oldestAge.set(stats.oldestDueAgeSeconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Another registry's metrics as `Registry.getMetricsAsJSON()` gives them. */
export type MetricsSource = () => Promise<object[]>;
