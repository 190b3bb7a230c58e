import { setTimeout as sleep } from "node:timers/promises";
import { callApi, createAccountKey, createHook, expectApi } from "../hookline-client.js";
import { sampleProcess, type HooklineProcess } from "../hookline-process.js";
import { inParallel } from "../in-parallel.js";
import { epochNow, type Receiver } from "../receiver-server.js";
import { round, type BenchRow } from "../report.js";
import { benchEventData, newSecret } from "../signed-request.js";

const S = "delivery";
/** Events in flight while publishing: enough to keep the API busy, bounded like any client. */
const PUBLISH_CONCURRENCY = 32;
/** A run fails when the receiver gets nothing for this long. */
const STALL_MS = 15_000;

/**
 * End to end: `n` events published with POST /v1/events to an account with
 * one hook, timed from the first publish to the last receipt; the Hookline
 * process's RSS is sampled meanwhile.
 *
 * @example
 * const rows = await hooklineThroughput(hookline, receiver, 20_000)
 */
export async function hooklineThroughput(hookline: HooklineProcess, receiver: Receiver, n: number): Promise<BenchRow[]> {
  const key = await createAccountKey(hookline, "bench-throughput");
  const hook = await createHook(hookline.url, key, `${receiver.url}/hookline`, newSecret());
  receiver.reset("/hookline");
  const rss = sampleProcess(hookline.pid);
  let rejected = 0;
  let firstRejection = "";
  const startedAt = epochNow();
  await inParallel(n, PUBLISH_CONCURRENCY, async (seq) => {
    const res = await callApi(hookline.url, "POST", "/v1/events", key, { type: "bench.delivery", data: benchEventData(seq) });
    if (res.status === 202) return;
    rejected++;
    firstRejection ||= `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`;
  });
  const publishedAt = epochNow();
  const expected = n - rejected;
  if (expected === 0) {
    await rss.stop();
    throw new Error(`every POST /v1/events was refused; first answer: ${firstRejection}`);
  }
  const lastAt = await receiver.waitFor(expected, STALL_MS).catch(() => null);
  const memory = await rss.stop();
  const elapsed = ((lastAt ?? epochNow()) - startedAt) / 1000;
  const { checked, valid } = receiver.verifySamples(hook.secret);
  const partial = lastAt === null ? `; STALLED: ${receiver.count()} of ${expected} received, then none for ${STALL_MS / 1000} s` : "";
  return [
    {
      scenario: S,
      name: "Hookline end to end",
      value: round(receiver.count() / elapsed),
      unit: "deliveries/s",
      note: `N=${n} events × 1 hook, publish c=${PUBLISH_CONCURRENCY}, ${valid}/${checked} signatures ok${rejected ? `, ${rejected} publishes refused (${firstRejection})` : ""}${partial}`,
    },
    { scenario: S, name: "Hookline publish (POST /v1/events)", value: round(n / ((publishedAt - startedAt) / 1000)), unit: "events/s", note: "accepted while delivering" },
    { scenario: S, name: "Hookline peak RSS (throughput run)", value: memory.peakMb, unit: "MB", note: `target < 300; ${memory.startMb} MB before the run; run through tsx like \`pnpm start\` (≈70 MB of it)` },
    { scenario: S, name: "Hookline CPU (throughput run)", value: memory.cpuCores, unit: "cores", note: "near 1: one process bound by its own event loop" },
  ];
}

/**
 * Publish-to-first-attempt latency on an idle queue: one event at a time,
 * timed from the publish call to its arrival at the receiver.
 *
 * @example
 * const rows = await hooklineLatency(hookline, receiver, 200)
 */
export async function hooklineLatency(hookline: HooklineProcess, receiver: Receiver, samples: number): Promise<BenchRow[]> {
  const key = await createAccountKey(hookline, "bench-latency");
  await createHook(hookline.url, key, `${receiver.url}/latency`, newSecret());
  receiver.reset("/latency");
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const sentAt = epochNow();
    await expectApi(hookline.url, "POST", "/v1/events", key, 202, { type: "bench.latency", data: benchEventData(i) });
    latencies.push((await receiver.waitFor(i + 1, STALL_MS)) - sentAt);
    // A short pause keeps the queue idle between samples, as the target asks.
    await sleep(10);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!, 1);
  return [
    { scenario: S, name: "Hookline publish→first attempt p50", value: at(0.5), unit: "ms", note: `target < 20; ${samples} samples, idle queue` },
    { scenario: S, name: "Hookline publish→first attempt p99", value: at(0.99), unit: "ms", note: "target < 100" },
  ];
}

/**
 * Fan-out: one event to `hooks` matching hooks — time until the 202 answer
 * (scheduling) and until the receiver has all of them.
 *
 * @example
 * const rows = await hooklineFanout(hookline, receiver, 10_000)
 */
export async function hooklineFanout(hookline: HooklineProcess, receiver: Receiver, hooks: number): Promise<BenchRow[]> {
  const key = await createAccountKey(hookline, "bench-fanout");
  const secret = newSecret();
  await inParallel(hooks, PUBLISH_CONCURRENCY, () => createHook(hookline.url, key, `${receiver.url}/fanout`, secret));
  receiver.reset("/fanout");
  const startedAt = epochNow();
  const accepted = await expectApi(hookline.url, "POST", "/v1/events", key, 202, { type: "bench.fanout", data: benchEventData(0) });
  const scheduledAt = epochNow();
  const lastAt = await receiver.waitFor(hooks, STALL_MS).catch(() => null);
  const { checked, valid } = receiver.verifySamples(secret);
  const scheduled = Array.isArray(accepted?.deliveries) ? accepted.deliveries.length : accepted?.deliveries;
  return [
    { scenario: S, name: `Hookline fan-out to ${hooks} hooks: 202`, value: round(scheduledAt - startedAt), unit: "ms", note: `target < 1000; deliveries in answer: ${scheduled ?? "?"}` },
    {
      scenario: S,
      name: `Hookline fan-out to ${hooks} hooks: all delivered`,
      value: lastAt === null ? null : round(lastAt - startedAt),
      unit: "ms",
      note: `${valid}/${checked} signatures ok${lastAt === null ? `; STALLED: ${receiver.count()} of ${hooks} received` : ""}`,
    },
    {
      scenario: S,
      name: "Hookline fan-out delivery rate",
      value: lastAt === null ? null : round(hooks / ((lastAt - scheduledAt) / 1000)),
      unit: "deliveries/s",
      note: "worker alone: from the 202 to the last receipt, no publishing meanwhile",
    },
  ];
}
