import { Agent } from "undici";
import { runInChild } from "../child-process.js";
import { inParallel } from "../in-parallel.js";
import { epochNow, type Receiver } from "../receiver-server.js";
import type { BenchRow } from "../report.js";
import { round } from "../report.js";
import { newSecret, postSigned } from "../signed-request.js";

type LoopArgs = { url: string; warmupUrl: string; n: number; concurrency: number; secret: string };
/** Sends before timing starts, so the limit is not understated by JIT and connection set-up. */
const WARMUP = 2_000;
/** What a sender child reports: when it started, in epochNow() time. */
export type SenderReport = { startedAt: number; failures: number };

/**
 * The physical limit: `n` signed keep-alive POSTs through one undici Agent,
 * `concurrency` at a time, no queue and no database. Runs in a child process.
 *
 * @example
 * await sendSignedLoop({ url: receiver.url, n: 20_000, concurrency: 64, secret: newSecret() })
 */
export async function sendSignedLoop(args: LoopArgs): Promise<SenderReport> {
  const agent = new Agent({ connections: args.concurrency, keepAliveTimeout: 60_000 });
  await inParallel(WARMUP, args.concurrency, (seq) => postSigned(agent, args.warmupUrl, args.secret, seq));
  let failures = 0;
  const startedAt = epochNow();
  await inParallel(args.n, args.concurrency, async (seq) => {
    if (!(await postSigned(agent, args.url, args.secret, seq))) failures++;
  });
  await agent.close();
  return { startedAt, failures };
}

/**
 * Runs `sendSignedLoop` in its own process against `receiver` and reports
 * deliveries per second from the first send to the last receipt.
 *
 * @example
 * const rows = await benchBareLoop(receiver, { deliveries: 20_000, concurrency: 64 })
 */
export async function benchBareLoop(
  receiver: Receiver,
  opts: { deliveries: number; concurrency: number },
): Promise<BenchRow[]> {
  const secret = newSecret();
  receiver.reset("/bare");
  const call = runInChild<SenderReport>(new URL(import.meta.url), "sendSignedLoop", {
    url: `${receiver.url}/bare`,
    warmupUrl: `${receiver.url}/warmup`,
    n: opts.deliveries,
    concurrency: opts.concurrency,
    secret,
  });
  try {
    const report = await call.result;
    const lastAt = await receiver.waitFor(opts.deliveries, 15_000);
    const { checked, valid } = receiver.verifySamples(secret);
    return [
      {
        scenario: "delivery",
        name: "bare loop (anchor: the limit)",
        value: round(opts.deliveries / ((lastAt - report.startedAt) / 1000)),
        unit: "deliveries/s",
        note: `N=${opts.deliveries} after ${WARMUP} warm-up, c=${opts.concurrency}, ${valid}/${checked} signatures ok, ${report.failures} non-200`,
      },
    ];
  } finally {
    call.kill();
  }
}
