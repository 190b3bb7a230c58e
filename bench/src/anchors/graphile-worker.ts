import { Logger, makeWorkerUtils, run, type AddJobsJobSpec } from "graphile-worker";
import { Agent } from "undici";
import { runInChild } from "../child-process.js";
import { epochNow, type Receiver } from "../receiver-server.js";
import { round, type BenchRow } from "../report.js";
import { startWalMeter, walNote } from "../wal.js";
import { createScratchDb } from "../scratch-db.js";
import { newSecret, postSigned } from "../signed-request.js";
import type { SenderReport } from "./bare-loop.js";

type GraphileArgs = { databaseUrl: string; url: string; n: number; concurrency: number; secret: string; drain?: boolean };

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
  const utils = await makeWorkerUtils({ connectionString: args.databaseUrl, logger: quiet });
  // Drain mode: the whole backlog is queued before the runner starts.
  if (args.drain) {
    await utils.migrate();
    await addAll(utils, args.n);
  }
  const runStartedAt = epochNow();
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
  const startedAt = args.drain ? runStartedAt : epochNow();
  if (!args.drain) await addAll(utils, args.n);
  await finished;
  await Promise.all([runner.stop(), utils.release(), agent.close()]);
  return { startedAt, failures };
}

async function addAll(utils: Awaited<ReturnType<typeof makeWorkerUtils>>, n: number): Promise<void> {
  for (let from = 0; from < n; from += ADD_CHUNK) {
    const specs: AddJobsJobSpec[] = [];
    for (let seq = from; seq < Math.min(n, from + ADD_CHUNK); seq++) specs.push({ identifier: "deliver", payload: { seq } });
    await utils.addJobs(specs);
  }
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
  opts: { deliveries: number; concurrency: number; drain?: boolean },
): Promise<BenchRow[]> {
  const db = await createScratchDb(adminUrl, "graphile");
  const drain = opts.drain === true;
  const secret = newSecret();
  receiver.reset("/graphile");
  const wal = drain ? undefined : await startWalMeter(adminUrl);
  const call = runInChild<SenderReport>(new URL(import.meta.url), "runGraphileJobs", {
    databaseUrl: db.url,
    url: `${receiver.url}/graphile`,
    n: opts.deliveries,
    concurrency: opts.concurrency,
    secret,
    drain,
  });
  try {
    const report = await call.result;
    const lastAt = await receiver.waitFor(opts.deliveries, 10_000);
    const { checked, valid } = receiver.verifySamples(secret);
    const t = graphileTuning;
    // A drain is timed from its first delivery to its last, as Hookline's is, so start-up costs neither.
    const from = drain ? (receiver.firstAt() ?? report.startedAt) : report.startedAt;
    const count = drain ? opts.deliveries - 1 : opts.deliveries;
    const walBytes = await wal?.stop();
    return [
      {
        scenario: "delivery",
        name: drain ? "graphile-worker batched drain (anchor)" : "graphile-worker 0.17 batched (anchor)",
        value: round(count / ((lastAt - from) / 1000)),
        unit: "deliveries/s",
        note: `${drain ? "backlog queued first, first→last delivery; " : ""}N=${opts.deliveries}, jobs=${opts.concurrency}, localQueue=${t.localQueueSize}, completeJobBatchDelay=${t.completeJobBatchDelay}, pool=${t.maxPoolSize}, ${valid}/${checked} signatures ok`,
      },
      ...(walBytes === undefined
        ? []
        : [{ scenario: "delivery", name: "graphile-worker WAL per delivery (anchor)", value: round(walBytes / opts.deliveries), unit: "bytes", note: walNote(walBytes, opts.deliveries) }]),
    ];
  } finally {
    call.kill();
    await db.drop();
  }
}
