import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../logger.js";
import type { DeliveryOutcome, RecordedOutcomes } from "../store/record-outcomes.js";
import { createOutcomeBatcher } from "./outcome-batcher.js";

const outcome = (id: number) => ({ delivery_id: id }) as DeliveryOutcome;
const none: RecordedOutcomes = { updated: 0, exhausted: [], disabled: [] };

/** A real logger whose lines land in `lines`, parsed. */
function capturingLogger() {
  const lines: Array<Record<string, any>> = [];
  return { lines, logger: createLogger("warn", { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

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

  it("logs a throwing onRecorded and goes on recording what comes next", async () => {
    const { lines, logger } = capturingLogger();
    const written: number[][] = [];
    const batcher = createOutcomeBatcher({
      logger,
      record: async (batch) => (written.push(batch.map((o) => o.delivery_id)), none),
      onRecorded: (batch) => {
        if (batch[0]!.delivery_id === 1) throw new Error("notifier broke");
      },
    });
    batcher.queue(outcome(1));
    await batcher.drain();
    batcher.queue(outcome(2));
    await batcher.drain();
    expect(written).toEqual([[1], [2]]);
    expect(lines.map((l) => [l.level, l.msg, l.err?.message])).toEqual([[50, "after recording outcomes", "notifier broke"]]);
  });

  describe("the database down (the write throws, not over data)", () => {
    afterEach(() => void vi.useRealTimers());

    it("retries the batch with doubling backoff capped at 5 s, for as long as it takes while not shutting down", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout"] });
      const { lines, logger } = capturingLogger();
      let writes = 0;
      const batcher = createOutcomeBatcher({
        logger,
        record: async () => {
          if (++writes <= 6) throw new Error("database down");
          return none;
        },
        onRecorded: () => {},
      });
      batcher.queue(outcome(1));
      batcher.queue(outcome(2));
      // Each wait, one side of its bound and then the other: 200, 400, 800, 1600, 3200 ms, then 5 s (not 6.4).
      for (const [n, waitMs] of [[1, 200], [2, 400], [3, 800], [4, 1600], [5, 3200], [6, 5000]] as const) {
        await vi.advanceTimersByTimeAsync(0);
        expect(writes).toBe(n);
        await vi.advanceTimersByTimeAsync(waitMs - 1);
        expect(writes).toBe(n);
        await vi.advanceTimersByTimeAsync(1);
      }
      expect(writes).toBe(7);
      expect(batcher.pending).toBe(0);
      const warnings = lines.filter((l) => l.msg === "recording outcomes failed; retrying");
      expect(warnings).toHaveLength(6);
      expect(warnings[0]).toMatchObject({ level: 40, outcomes: 1, err: { message: "database down" } });
    });

    it("gives up at shutdown after six tries in a row, saying how many outcomes it drops", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout"] });
      const { lines, logger } = capturingLogger();
      let writes = 0;
      const batcher = createOutcomeBatcher({
        logger,
        record: async () => {
          writes++;
          throw new Error("database down");
        },
        onRecorded: () => {},
      });
      batcher.queue(outcome(1));
      const drained = batcher.drain();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(writes).toBe(6);
      await drained;
      expect(batcher.pending).toBe(0);
      expect(lines.at(-1)).toMatchObject({ level: 50, msg: "giving up on recording outcomes at shutdown; their leases will expire", outcomes: 1 });
    });
  });
});
