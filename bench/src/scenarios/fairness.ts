import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BenchConfig } from "../config.js";
import { callApi, createAccountKey, expectApi } from "../hookline-client.js";
import { HooklineUnavailable, startHookline, type HooklineProcess } from "../hookline-process.js";
import { inParallel } from "../in-parallel.js";
import { epochNow } from "../receiver-server.js";
import { progress, round, unavailableRow, type BenchRow } from "../report.js";
import { newSecret } from "../signed-request.js";

const S = "fairness";
/** Healthy events in flight while publishing, as a producer would. */
const PUBLISH_CONCURRENCY = 8;
/** A phase fails when the healthy receiver gets nothing for this long. */
const STALL_MS = 60_000;

/**
 * Issue 9's fairness figure, one Hookline process (role both, default
 * settings), one run: a healthy hook's publish→receipt latency p50/p99 with
 * nothing else queued, then again beside a hook whose receiver takes
 * `slowMs` per request and has `slowBacklog` deliveries queued first.
 * Target: healthy p99 beside ≤ 2 × alone.
 *
 * @example
 * const rows = await fairnessScenario(readConfig(process.env))
 */
export async function fairnessScenario(config: BenchConfig): Promise<BenchRow[]> {
  const receiver = await startFairnessReceiver(config.slowMs);
  let hookline: HooklineProcess;
  progress("fairness: starting Hookline (role both)");
  try {
    hookline = await startHookline(config.adminUrl, "both");
  } catch (error) {
    await receiver.close();
    if (error instanceof HooklineUnavailable) return [unavailableRow(S, "Hookline", error.message)];
    throw error;
  }
  try {
    const key = await createAccountKey(hookline, "bench-fairness");
    const hook = (path: string, type: string) =>
      expectApi(hookline.url, "POST", "/v1/hooks", key, 201, { url: `${receiver.url}${path}`, events: [type], secret: newSecret() });
    await hook("/healthy", "fair.healthy");
    await hook("/slow", "fair.slow");

    const healthyPhase = async (label: string) => {
      progress(`fairness: ${config.fairnessEvents} healthy events ${label}`);
      const before = receiver.latencies.length;
      await inParallel(config.fairnessEvents, PUBLISH_CONCURRENCY, async (seq) => {
        const res = await callApi(hookline.url, "POST", "/v1/events", key, { type: "fair.healthy", data: { seq, sent: epochNow() } });
        if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${JSON.stringify(res.json).slice(0, 200)}`);
      });
      await receiver.waitForHealthy(before + config.fairnessEvents, STALL_MS);
      return receiver.latencies.slice(before).sort((a, b) => a - b);
    };

    await healthyPhase("to warm up (not counted)");
    const alone = await healthyPhase("alone");
    progress(`fairness: ${config.slowBacklog} events to the ${config.slowMs / 1000} s hook`);
    await inParallel(config.slowBacklog, PUBLISH_CONCURRENCY, (seq) =>
      expectApi(hookline.url, "POST", "/v1/events", key, 202, { type: "fair.slow", data: { seq } }),
    );
    await receiver.waitForSlowOpen(1, STALL_MS); // the slow hook is busy before the healthy events go
    const beside = await healthyPhase("beside the slow hook");
    const slowHeld = receiver.slowMaxOpen;
    const p = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    const note = `${config.fairnessEvents} events, publish c=${PUBLISH_CONCURRENCY}`;
    const besideNote = `${note}; ${config.slowBacklog} queued for a ${config.slowMs / 1000} s hook first; it held at most ${slowHeld} requests open`;
    return [
      { scenario: S, name: "healthy hook alone p50", value: round(p(alone, 0.5), 1), unit: "ms", note },
      { scenario: S, name: "healthy hook alone p99", value: round(p(alone, 0.99), 1), unit: "ms", note },
      { scenario: S, name: "healthy hook beside a slow hook p50", value: round(p(beside, 0.5), 1), unit: "ms", note: besideNote },
      { scenario: S, name: "healthy hook beside a slow hook p99", value: round(p(beside, 0.99), 1), unit: "ms", note: besideNote },
      { scenario: S, name: "healthy p99 beside / alone", value: round(p(beside, 0.99) / p(alone, 0.99), 2), unit: "×", note: "target ≤ 2" },
    ];
  } finally {
    await hookline.stop();
    await receiver.close();
  }
}

/** Two paths on 127.0.0.1: `/healthy` answers at once and records publish→receipt latency, `/slow` answers after `slowMs`. */
async function startFairnessReceiver(slowMs: number) {
  const latencies: number[] = [];
  let slowOpen = 0;
  let slowMaxOpen = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.url?.startsWith("/healthy")) {
        latencies.push(epochNow() - (JSON.parse(Buffer.concat(chunks).toString()) as { sent: number }).sent);
        res.writeHead(200).end();
        return;
      }
      slowOpen++;
      slowMaxOpen = Math.max(slowMaxOpen, slowOpen);
      const timer = setTimeout(() => (timers.delete(timer), res.writeHead(200).end()), slowMs);
      timers.add(timer);
      res.on("close", () => slowOpen--);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const until = async (done: () => boolean, stallMs: number, what: string) => {
    const deadline = Date.now() + stallMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what} not reached within ${stallMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    latencies,
    get slowMaxOpen() {
      return slowMaxOpen;
    },
    waitForHealthy: (n: number, stallMs: number) => until(() => latencies.length >= n, stallMs, `${n} healthy deliveries`),
    waitForSlowOpen: (n: number, stallMs: number) => until(() => slowOpen >= n, stallMs, "the slow hook's first request"),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
