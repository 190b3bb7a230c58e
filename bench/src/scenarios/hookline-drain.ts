import type { BenchConfig } from "../config.js";
import { createAccountKey, createHook } from "../hookline-client.js";
import { dropWithStream, startHookline, type HooklineProcess } from "../hookline-process.js";
import type { Receiver } from "../receiver-server.js";
import { round, type BenchRow } from "../report.js";
import { createScratchDb } from "../scratch-db.js";
import { newSecret } from "../signed-request.js";
import { publishEvents } from "./hookline-delivery.js";

const STALL_MS = 15_000;

/**
 * The worker alone: a backlog of `n` events is published through an API-only
 * process, which then stops; a worker-only process on the same database
 * drains it. Timed from the first delivery to the last, like the
 * graphile-worker drain anchor, so neither side's start-up counts.
 *
 * Batch publish fills the backlog when the API has it (fast), single
 * publishes otherwise.
 *
 * @example
 * const rows = await hooklineDrain(config, receiver)
 */
export async function hooklineDrain(config: BenchConfig, receiver: Receiver): Promise<BenchRow[]> {
  const n = config.deliveries;
  const db = await createScratchDb(config.adminUrl, "drain");
  let worker: HooklineProcess | undefined;
  try {
    const api = await startHookline(config.adminUrl, "api", { db });
    let secret: string;
    try {
      const key = await createAccountKey(api, "bench-drain");
      secret = (await createHook(api.url, key, `${receiver.url}/drain`, newSecret())).secret;
      let published = await publishEvents(api.url, key, n, { kind: "batch", size: config.batchEvents });
      if (published.accepted === 0) published = await publishEvents(api.url, key, n, { kind: "single", publishers: config.publishers });
      if (published.accepted < n) throw new Error(`backlog: ${published.accepted} of ${n} events accepted; ${published.firstRejection}`);
    } finally {
      await api.stop();
    }
    receiver.reset("/drain");
    worker = await startHookline(config.adminUrl, "worker", { db });
    const lastAt = await receiver.waitFor(n, STALL_MS).catch(() => null);
    const firstAt = receiver.firstAt();
    const { checked, valid } = receiver.verifySamples(secret);
    const rate = lastAt === null || firstAt === undefined ? null : round((n - 1) / ((lastAt - firstAt) / 1000));
    return [
      {
        scenario: "delivery",
        name: "Hookline worker drain",
        value: rate,
        unit: "deliveries/s",
        note: `backlog of N=${n} queued first, worker-only process, first→last delivery; ${valid}/${checked} signatures ok${lastAt === null ? `; STALLED at ${receiver.count()}` : ""}`,
      },
    ];
  } finally {
    await worker?.stop();
    await dropWithStream(db);
  }
}
