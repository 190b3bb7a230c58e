import { benchBareLoop } from "../anchors/bare-loop.js";
import { benchGraphileWorker } from "../anchors/graphile-worker.js";
import type { BenchConfig } from "../config.js";
import { HooklineUnavailable, startHookline } from "../hookline-process.js";
import { startReceiver, type Receiver } from "../receiver-server.js";
import { oneLine, progress, ratioRow, unavailableRow, type BenchRow } from "../report.js";
import { hooklineFanout, hooklineLatency, hooklineThroughput } from "./hookline-delivery.js";

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
    const [graphile] = await benchGraphileWorker(receiver, config.adminUrl, opts);
    const hookline = await hooklineRows(config, receiver);
    const product = hookline.find((r) => r.name === "Hookline end to end");
    return [
      bare!,
      graphile!,
      ...hookline,
      ratioRow("delivery", "Hookline / graphile-worker batched", product, graphile, "target ≥ 1.5"),
      ratioRow("delivery", "Hookline / bare loop", product, bare, "target ≥ 0.5"),
    ];
  } finally {
    await receiver.close();
  }
}

async function hooklineRows(config: BenchConfig, receiver: Receiver): Promise<BenchRow[]> {
  let hookline;
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
    ["throughput", () => hooklineThroughput(hookline, receiver, config.deliveries)],
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
