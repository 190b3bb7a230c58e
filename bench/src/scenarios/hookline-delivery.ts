import { setTimeout as sleep } from "node:timers/promises";
import { callApi, createAccountKey, createHook, expectApi } from "../hookline-client.js";
import { sampleProcess, type HooklineProcess } from "../hookline-process.js";
import { inParallel } from "../in-parallel.js";
import { epochNow, type Receiver } from "../receiver-server.js";
import { round, type BenchRow } from "../report.js";
import { benchEventData, newSecret } from "../signed-request.js";
import { startWalMeter, walRows } from "../wal-meter.js";

/** The meter waits for this before reading the WAL counters: every delivery of the run recorded. */
export const DELIVERIES_SETTLED = "select count(*) = 0 as done from deliveries where finished_at is null";

const S = "delivery";
/** Requests in flight while creating the fan-out hooks. */
const SETUP_CONCURRENCY = 32;
/** Batch requests in flight: a producer with a burst sends a few at a time, as graphile-worker's addJobs chunks are. */
const BATCH_CONCURRENCY = 2;
/** A run fails when the receiver gets nothing for this long. */
const STALL_MS = 15_000;

/** How the throughput run publishes: one event per request from `publishers` clients, or `size` events per batch request. */
export type PublishMode = { kind: "single"; publishers: number } | { kind: "batch"; size: number };

/**
 * Publishes events `0 … n-1` to Hookline the way `mode` says; resolves with
 * how many were accepted and the first refusal, if any.
 *
 * @example
 * const { accepted } = await publishEvents(hookline.url, key, 20_000, { kind: "batch", size: 1000 })
 */
export async function publishEvents(baseUrl: string, key: string, n: number, mode: PublishMode): Promise<{ accepted: number; firstRejection: string }> {
  let accepted = 0;
  let firstRejection = "";
  if (mode.kind === "single") {
    await inParallel(n, mode.publishers, async (seq) => {
      const res = await callApi(baseUrl, "POST", "/v1/events", key, { type: "bench.delivery", data: benchEventData(seq) });
      if (res.status === 202) accepted++;
      else firstRejection ||= `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`;
    });
    return { accepted, firstRejection };
  }
  await inParallel(Math.ceil(n / mode.size), BATCH_CONCURRENCY, async (chunk) => {
    const events = [];
    for (let seq = chunk * mode.size; seq < Math.min(n, (chunk + 1) * mode.size); seq++) events.push({ type: "bench.delivery", data: benchEventData(seq) });
    const res = await callApi(baseUrl, "POST", "/v1/events/batch", key, { events });
    const results: Array<{ id?: unknown }> = Array.isArray(res.json?.results) ? res.json.results : [];
    const ok = results.filter((r) => r.id !== undefined).length;
    accepted += ok;
    if (res.status !== 200 || ok < events.length) firstRejection ||= `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`;
  });
  return { accepted, firstRejection };
}

/**
 * End to end: `n` events published (one per request, or in batches) to an
 * account with one hook, timed from the first publish to the last receipt;
 * the Hookline process's RSS and CPU are sampled meanwhile.
 *
 * @example
 * const rows = await hooklineThroughput(hookline, receiver, 20_000, { kind: "single", publishers: 20 })
 */
export async function hooklineThroughput(hookline: HooklineProcess, receiver: Receiver, n: number, mode: PublishMode): Promise<BenchRow[]> {
  const label = mode.kind === "single" ? `single publishes, c=${mode.publishers}` : `batch publish, ${mode.size}/request`;
  const key = await createAccountKey(hookline, `bench-throughput-${mode.kind}`);
  const path = `/hookline-${mode.kind}`;
  const hook = await createHook(hookline.url, key, `${receiver.url}${path}`, newSecret());
  receiver.reset(path);
  const wal = await startWalMeter(hookline.databaseUrl, DELIVERIES_SETTLED);
  const rss = sampleProcess(hookline.pid);
  const startedAt = epochNow();
  const { accepted, firstRejection } = await publishEvents(hookline.url, key, n, mode);
  const rejected = n - accepted;
  const publishedAt = epochNow();
  const expected = n - rejected;
  if (expected === 0) {
    await rss.stop();
    throw new Error(`every publish was refused; first answer: ${firstRejection}`);
  }
  const lastAt = await receiver.waitFor(expected, STALL_MS).catch(() => null);
  const memory = await rss.stop();
  const walPerDelivery = await wal.stop(receiver.count());
  const elapsed = ((lastAt ?? epochNow()) - startedAt) / 1000;
  const { checked, valid } = receiver.verifySamples(hook.secret);
  const partial = lastAt === null ? `; STALLED: ${receiver.count()} of ${expected} received, then none for ${STALL_MS / 1000} s` : "";
  return [
    {
      scenario: S,
      name: `Hookline end to end (${mode.kind})`,
      value: round(receiver.count() / elapsed),
      unit: "deliveries/s",
      note: `queue: ${hookline.queue}; N=${n} events × 1 hook, ${label}, ${valid}/${checked} signatures ok${rejected ? `, ${rejected} publishes refused (${firstRejection})` : ""}${partial}`,
    },
    { scenario: S, name: `Hookline publish (${mode.kind})`, value: round(accepted / ((publishedAt - startedAt) / 1000)), unit: "events/s", note: `${label}; accepted while delivering` },
    { scenario: S, name: `Hookline peak RSS (${mode.kind} run)`, value: memory.peakMb, unit: "MB", note: `target < 400 (PRODUCT.md §9: one default start, all its processes); ${memory.startMb} MB before the run; the built server, as pnpm start runs it` },
    { scenario: S, name: `Hookline CPU (${mode.kind} run)`, value: memory.cpuCores, unit: "cores", note: "of 2; near 1 with one event loop busy means that loop is the bound" },
    ...walRows(S, `Hookline (${mode.kind})`, walPerDelivery, "per delivery", `queue: ${hookline.queue}`),
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
    { scenario: S, name: "Hookline publish→first attempt p50", value: at(0.5), unit: "ms", note: `target < 10 (issue 20); ${samples} samples, idle queue` },
    { scenario: S, name: "Hookline publish→first attempt p99", value: at(0.99), unit: "ms", note: "target < 50 (issue 20)" },
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
  await inParallel(hooks, SETUP_CONCURRENCY, () => createHook(hookline.url, key, `${receiver.url}/fanout`, secret));
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
