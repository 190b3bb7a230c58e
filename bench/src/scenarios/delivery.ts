import { benchBareLoop } from "../anchors/bare-loop.js";
import { benchGraphileWorker } from "../anchors/graphile-worker.js";
import type { BenchConfig } from "../config.js";
import { HooklineUnavailable, startHookline, type HooklineProcess } from "../hookline-process.js";
import { startReceiver, type Receiver } from "../receiver-server.js";
import { oneLine, progress, ratioRow, unavailableRow, type BenchRow } from "../report.js";
import { hooklineFanout, hooklineLatency, hooklineThroughput } from "./hookline-delivery.js";
import { hooklineDrain } from "./hookline-drain.js";

/**
 * The delivery scenario: the two anchors (bare loop, graphile-worker
 * batched), then Hookline end to end against the same receiver, then ratios.
 *
 * @example
 * const rows = await deliveryScenario(readConfig(process.env))
 */
export async function deliveryScenario(config: BenchConfig): Promise<BenchRow[]> {
  const receiver = await startReceiver();
  try {
    const opts = { deliveries: config.deliveries, concurrency: config.concurrency };
    progress("delivery: bare loop anchor");
    const [bare] = await benchBareLoop(receiver, opts);
    progress("delivery: graphile-worker anchor");
    const [graphile, ...graphileWal] = await benchGraphileWorker(receiver, config.adminUrl, opts);
    progress("delivery: graphile-worker drain anchor");
    const [graphileDrain] = await benchGraphileWorker(receiver, config.adminUrl, { ...opts, drain: true });
    const hookline = await hooklineRows(config, receiver);
    progress("delivery: Hookline worker drain");
    const drain = await hooklineDrain(config, receiver).catch((error) => [unavailableRow("delivery", "Hookline worker drain", oneLine(error))]);
    const find = (name: string) => [...hookline, ...drain].find((r) => r.name === name);
    const batch = find("Hookline end to end (batch)");
    const single = find("Hookline end to end (single)");
    return [
      bare!,
      graphile!,
      ...graphileWal,
      graphileDrain!,
      ...hookline,
      ...drain,
      ratioRow("delivery", "batch end to end / graphile-worker batched", batch, graphile, "target ≥ 1.5"),
      ratioRow("delivery", "batch end to end / bare loop", batch, bare, "target ≥ 0.5"),
      ratioRow("delivery", "single end to end / graphile-worker batched", single, graphile, "aim ≥ 1 (one event per request)"),
      ratioRow("delivery", "single end to end / bare loop", single, bare, "for information"),
      ratioRow("delivery", "worker drain / graphile-worker drain", find("Hookline worker drain"), graphileDrain, "target ≥ 1.5"),
    ];
  } finally {
    await receiver.close();
  }
}

async function hooklineRows(config: BenchConfig, receiver: Receiver): Promise<BenchRow[]> {
  let hookline: HooklineProcess;
  progress("delivery: starting Hookline (role both)");
  try {
    hookline = await startHookline(config.adminUrl, "both");
  } catch (error) {
    if (error instanceof HooklineUnavailable) return [unavailableRow("delivery", "Hookline", error.message)];
    throw error;
  }
  const rows: BenchRow[] = [];
  // Each part runs on its own; one failing part still leaves the others' figures.
  const parts: Array<[string, () => Promise<BenchRow[]>]> = [
    ["throughput, single publishes", () => hooklineThroughput(hookline, receiver, config.deliveries, { kind: "single", publishers: config.publishers }, config.adminUrl)],
    ["throughput, batch publish", () => hooklineThroughput(hookline, receiver, config.deliveries, { kind: "batch", size: config.batchEvents }, config.adminUrl)],
    ["publish→first attempt latency", () => hooklineLatency(hookline, receiver, config.latencySamples)],
    [`fan-out to ${config.fanoutHooks} hooks`, () => hooklineFanout(hookline, receiver, config.fanoutHooks)],
  ];
  try {
    for (const [name, part] of parts) {
      progress(`delivery: Hookline ${name}`);
      try {
        rows.push(...(await part()));
      } catch (error) {
        rows.push(unavailableRow("delivery", "Hookline (part failed)", oneLine(error)));
      }
    }
  } finally {
    await hookline.stop();
  }
  return rows;
}
