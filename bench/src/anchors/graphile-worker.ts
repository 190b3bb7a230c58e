import { Logger, makeWorkerUtils, run, type AddJobsJobSpec } from "graphile-worker";
import { Agent } from "undici";
import { runInChild } from "../child-process.js";
import { epochNow, type Receiver } from "../receiver-server.js";
import { round, type BenchRow } from "../report.js";
import { createScratchDb } from "../scratch-db.js";
import { newSecret, postSigned } from "../signed-request.js";
import type { SenderReport } from "./bare-loop.js";

type GraphileArgs = { databaseUrl: string; url: string; n: number; concurrency: number; secret: string };

/** Batching settings from graphile-worker's performance guide (worker.graphile.org/docs/performance). */
export const graphileTuning = { localQueueSize: 100, completeJobBatchDelay: 0, failJobBatchDelay: 0, maxPoolSize: 10 };
const ADD_CHUNK = 1_000;
const quiet = new Logger(() => () => {});

/**
 * graphile-worker 0.17 tuned for batching: `n` jobs added in bulk, each one
 * the same signed POST as the bare loop. Runs in a child process; resolves
 * when every job has completed.
 *
 * @example
 * await runGraphileJobs({ databaseUrl, url: receiver.url, n: 20_000, concurrency: 64, secret })
 */
export async function runGraphileJobs(args: GraphileArgs): Promise<SenderReport> {
  const agent = new Agent({ connections: args.concurrency, keepAliveTimeout: 60_000 });
  let done = 0;
  let failures = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const runner = await run({
    noHandleSignals: true,
    logger: quiet,
    preset: {
      worker: {
        connectionString: args.databaseUrl,
        concurrentJobs: args.concurrency,
        maxPoolSize: graphileTuning.maxPoolSize,
        localQueue: { size: graphileTuning.localQueueSize },
        completeJobBatchDelay: graphileTuning.completeJobBatchDelay,
        failJobBatchDelay: graphileTuning.failJobBatchDelay,
      },
    },
    taskList: {
      deliver: async (payload) => {
        const seq = (payload as { seq: number }).seq;
        if (!(await postSigned(agent, args.url, args.secret, seq))) failures++;
        if (++done === args.n) allDone();
      },
    },
  });
  const utils = await makeWorkerUtils({ connectionString: args.databaseUrl, logger: quiet });
  const startedAt = epochNow();
  for (let from = 0; from < args.n; from += ADD_CHUNK) {
    const specs: AddJobsJobSpec[] = [];
    for (let seq = from; seq < Math.min(args.n, from + ADD_CHUNK); seq++) specs.push({ identifier: "deliver", payload: { seq } });
    await utils.addJobs(specs);
  }
  await finished;
  await Promise.all([runner.stop(), utils.release(), agent.close()]);
  return { startedAt, failures };
}

/**
 * Runs the graphile-worker anchor in its own process and database, and
 * reports deliveries per second from the first add to the last receipt.
 *
 * @example
 * const rows = await benchGraphileWorker(receiver, config.adminUrl, { deliveries: 20_000, concurrency: 64 })
 */
export async function benchGraphileWorker(
  receiver: Receiver,
  adminUrl: string,
  opts: { deliveries: number; concurrency: number },
): Promise<BenchRow[]> {
  const db = await createScratchDb(adminUrl, "graphile");
  const secret = newSecret();
  receiver.reset("/graphile");
  const call = runInChild<SenderReport>(new URL(import.meta.url), "runGraphileJobs", {
    databaseUrl: db.url,
    url: `${receiver.url}/graphile`,
    n: opts.deliveries,
    concurrency: opts.concurrency,
    secret,
  });
  try {
    const report = await call.result;
    const lastAt = await receiver.waitFor(opts.deliveries, 10_000);
    const { checked, valid } = receiver.verifySamples(secret);
    const t = graphileTuning;
    return [
      {
        scenario: "delivery",
        name: "graphile-worker 0.17 batched (anchor)",
        value: round(opts.deliveries / ((lastAt - report.startedAt) / 1000)),
        unit: "deliveries/s",
        note: `N=${opts.deliveries}, jobs=${opts.concurrency}, localQueue=${t.localQueueSize}, completeJobBatchDelay=${t.completeJobBatchDelay}, pool=${t.maxPoolSize}, ${valid}/${checked} signatures ok`,
      },
    ];
  } finally {
    call.kill();
    await db.drop();
  }
}
