import { describe, expect, it } from "vitest";
import type { ClaimedDelivery } from "../store/claim-deliveries.js";
import { HeldRows } from "./held-rows.js";

const row = (id: number, start_at: number | null = null, hook_id = 1) => ({ id, start_at, hook_id }) as ClaimedDelivery;
const limits = { concurrency: 2, batchSize: 3, leaseMs: 10_000, deadlineMs: 4_000, marginMs: 1_000 };

describe("HeldRows (slot accounting)", () => {
  it("starts at most `concurrency` rows and lets a claim hold one batch beyond the slots", () => {
    const held = new HeldRows(limits);
    expect(held.room()).toBe(3);
    held.add([row(1), row(2), row(3)], 0);
    expect(held.take(0).start.map((r) => r.id)).toEqual([1, 2]);
    expect(held.inFlight).toBe(2);
    expect(held.room()).toBe(2); // 2 slots + 3 batch − 2 running − 1 waiting
    held.finished();
    expect(held.take(1).start.map((r) => r.id)).toEqual([3]);
  });

  it("releases a row that can no longer finish its attempt inside the lease instead of starting it", () => {
    const held = new HeldRows(limits);
    held.add([row(1), row(2), row(3)], 0);
    held.take(0); // 1 and 2 run; 3 waits
    held.finished();
    // startBy = 0 + 10,000 − 4,000 − 1,000 = 5,000
    const late = held.take(5_001);
    expect(late.start).toEqual([]);
    expect(late.release.map((r) => r.id)).toEqual([3]);
  });

  it("keeps paced rows out of the slots until their start time, and releases those paced beyond the lease", () => {
    const held = new HeldRows(limits);
    held.add([row(1, 2_000), row(2, 1_000), row(3, 9_000)], 0);
    const first = held.take(0);
    expect(first.start).toEqual([]);
    expect(first.release.map((r) => r.id)).toEqual([3]); // would start after its start-by
    expect(first.wakeAt).toBe(1_000);
    expect(held.take(1_500).start.map((r) => r.id)).toEqual([2]);
    expect(held.take(2_000).start.map((r) => r.id)).toEqual([1]);
  });

  it("hands back every unstarted row on drain", () => {
    const held = new HeldRows(limits);
    held.add([row(1), row(2), row(3, 3_000)], 0);
    held.take(0);
    held.add([row(4)], 0);
    expect(held.drain().map((r) => r.id).sort()).toEqual([3, 4]);
    expect(held.waiting).toBe(0);
  });

  it("a late row takes its hook's later rows back with it (they may not overtake it), not other hooks' rows", () => {
    const held = new HeldRows({ ...limits, concurrency: 1, batchSize: 10 });
    held.add([row(1, null, 7), row(2, null, 8)], 0);
    held.take(0); // 1 runs
    held.add([row(3, null, 7), row(4, null, 8)], 4_000); // a later claim: start-by 9,000
    held.finished();
    const late = held.take(5_001); // 2 (hook 8) is past its start-by; 4 (hook 8) comes after it
    expect(late.release.map((r) => r.id)).toEqual([2, 4]);
    expect(late.start.map((r) => r.id)).toEqual([3]);
  });

  it("keeps a row its gate holds back in place, and starts other hooks' rows behind it", () => {
    const held = new HeldRows({ ...limits, concurrency: 3, batchSize: 10 });
    held.add([row(1, null, 7), row(2, null, 7), row(3, null, 8), row(4, null, 7)], 0);
    const blocked = new Set([7]);
    const gate = { mayStart: (r: ClaimedDelivery) => !blocked.has(r.hook_id), started: () => {} };
    expect(held.take(0, gate).start.map((r) => r.id)).toEqual([3]);
    blocked.clear();
    expect(held.take(0, gate).start.map((r) => r.id)).toEqual([1, 2]);
    expect(held.takeHook(7).map((r) => r.id)).toEqual([4]);
    expect(held.waiting).toBe(0);
  });
});
