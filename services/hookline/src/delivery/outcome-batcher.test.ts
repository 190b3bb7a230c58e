import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import type { DeliveryOutcome, RecordedOutcomes } from "../store/record-outcomes.js";
import { createOutcomeBatcher } from "./outcome-batcher.js";

const outcome = (id: number) => ({ delivery_id: id }) as DeliveryOutcome;
const none: RecordedOutcomes = { updated: 0, exhausted: [], disabled: [] };

describe("outcome batcher", () => {
  it("writes at once when idle, batches what arrives during a write, and keeps a failed batch for the next try", async () => {
    const writes: number[][] = [];
    let release!: () => void;
    const batcher = createOutcomeBatcher({
      logger: createLogger("silent"),
      async record(batch) {
        writes.push(batch.map((o) => o.delivery_id));
        if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
        if (writes.length === 2) throw new Error("database down"); // the second write fails once
        return none;
      },
      onRecorded: () => {},
    });
    batcher.queue(outcome(1)); // written alone, at once
    batcher.queue(outcome(2));
    batcher.queue(outcome(3)); // these two wait for the first write
    expect(writes).toEqual([[1]]);
    expect(batcher.pending).toBe(2);
    release();
    await batcher.drain();
    // [2, 3] failed once and was written again whole.
    expect(writes).toEqual([[1], [2, 3], [2, 3]]);
    expect(batcher.pending).toBe(0);
  });

  it("hands each recorded batch and what it changed to onRecorded", async () => {
    const seen: Array<[number[], RecordedOutcomes]> = [];
    const recorded: RecordedOutcomes = { updated: 1, exhausted: [{ delivery_id: 7, hook_id: 1, account_id: "a", event_id: 3 }], disabled: [] };
    const batcher = createOutcomeBatcher({
      logger: createLogger("silent"),
      record: async () => recorded,
      onRecorded: (batch, result) => void seen.push([batch.map((o) => o.delivery_id), result]),
    });
    batcher.queue(outcome(7));
    await batcher.drain();
    expect(seen).toEqual([[[7], recorded]]);
  });
});
