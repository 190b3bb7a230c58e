import autocannon from "autocannon";
import type { EventEmitter } from "node:events";
import { sampleProcess } from "./hookline-process.js";
import { round } from "./report.js";

/** A load test's outcome; `firstRps`/`lastRps` are the first and last quarter, to show decay. */
export type LoadResult = {
  rps: number;
  p99: number;
  firstRps: number;
  lastRps: number;
  bad: number;
  /**
   * CPU time of the server process per request, in µs, when `serverPid` was
   * given: on a shared machine the rate swings with the neighbours' load, the
   * CPU a request costs much less.
   */
  cpuUsPerRequest?: number;
};

export type LoadOptions = {
  url: string;
  seconds: number;
  connections: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** The process serving `url`, to measure its CPU per request. */
  serverPid?: number;
  /**
   * Seconds of the same load run first and not measured, so that neither a
   * server's JIT warm-up nor its connection pools filling count (Hookline's
   * GET ran its first quarter at 0.6× its last, the bare PK SELECT at 0.9×).
   */
  warmupSeconds?: number;
};

/**
 * Runs autocannon against `url` and keeps the per-second counts so a slow
 * decay over the run (FINDINGS.md: postgres.js with more queries in flight
 * than connections) shows as `lastRps` well under `firstRps`.
 *
 * @example
 * const r = await loadTest({ url: "http://127.0.0.1:3000/", seconds: 20, connections: 50 })
 */
export async function loadTest(opts: LoadOptions): Promise<LoadResult> {
  if (opts.warmupSeconds) await runAutocannon(opts, opts.warmupSeconds);
  const perSecond: number[] = [];
  const cpu = opts.serverPid === undefined ? undefined : sampleProcess(opts.serverPid, 1000);
  const result = await runAutocannon(opts, opts.seconds, (counter) => perSecond.push(counter));
  // A last partial tick can follow the final second; keep whole seconds only.
  perSecond.length = Math.min(perSecond.length, opts.seconds);
  const quarter = Math.max(1, Math.floor(perSecond.length / 4));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const cpuCores = cpu ? (await cpu.stop()).cpuCores : undefined;
  return {
    ...(cpuCores !== undefined && result.requests.average > 0 ? { cpuUsPerRequest: round((cpuCores * 1e6) / result.requests.average) } : {}),
    rps: round(result.requests.average),
    p99: round(result.latency.p99, 1),
    firstRps: round(mean(perSecond.slice(0, quarter))),
    lastRps: round(mean(perSecond.slice(-quarter))),
    bad: result.errors + result.timeouts + result.non2xx,
  };
}

/** A short note for a load result: decay and failures, when there are any. */
export function loadNote(r: LoadResult, extra: string): string {
  const decay = r.firstRps > 0 ? ` first¼ ${r.firstRps}/s → last¼ ${r.lastRps}/s` : "";
  const cpu = r.cpuUsPerRequest !== undefined ? `; ${r.cpuUsPerRequest} µs CPU/request` : "";
  return `${extra};${decay}${cpu}${r.bad ? `; ${r.bad} errors/non-2xx` : ""}`;
}

function runAutocannon(opts: LoadOptions, seconds: number, onSecond?: (requests: number) => void): Promise<autocannon.Result> {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        duration: seconds,
        method: opts.method ?? "GET",
        headers: opts.headers ?? {},
        ...(opts.body === undefined ? {} : { body: opts.body }),
      },
      (error, r) => (error ? reject(error) : resolve(r)),
    );
    // The typings only declare "error"; autocannon emits "tick" once a second.
    if (onSecond) (instance as unknown as EventEmitter).on("tick", (t: { counter: number }) => onSecond(t.counter));
  });
}
