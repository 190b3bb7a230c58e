import { describe, expect, it } from "vitest";
import { RetryAlarm } from "./retry-alarm.js";

/** Claimed rows with these delivery ids. */
const rows = (...ids: number[]) => ids.map((id) => ({ id }));

describe("RetryAlarm", () => {
  it("waits until the earliest noted retry is due, in whatever order they were noted", () => {
    const alarm = new RetryAlarm();
    expect(alarm.msUntilNext(0, 0)).toBeUndefined();
    alarm.note(1, 5_000);
    alarm.note(2, 1_000);
    alarm.note(3, 3_000);
    expect(alarm.msUntilNext(0, 400)).toBe(600);
    // The claim at 1,000 returned delivery 2: the next is 3 at 3,000.
    alarm.claimed(rows(2, 99));
    expect(alarm.msUntilNext(1_000, 1_200)).toBe(1_800);
    alarm.claimed(rows(3));
    alarm.claimed(rows(1));
    expect(alarm.msUntilNext(3_000, 3_001)).toBeUndefined();
  });

  it("looks again, later each time, for a retry that was due but not returned, and gives up on it after 5 s", () => {
    const alarm = new RetryAlarm();
    alarm.note(7, 1_000);
    // A claim at 1,005 did not return it: look again soon (at least 10 ms after that claim).
    expect(alarm.msUntilNext(1_005, 1_006)).toBe(9);
    // Still not returned by a claim at 1,200: wait as long as it has been late.
    expect(alarm.msUntilNext(1_200, 1_210)).toBe(190);
    expect(alarm.msUntilNext(5_999, 6_000)).toBe(4_998);
    // More than 5 s late at a claim: left to the poll.
    expect(alarm.msUntilNext(6_001, 6_002)).toBeUndefined();
  });

  it("a retry that cannot be claimed does not hold back a later one", () => {
    const alarm = new RetryAlarm();
    alarm.note(1, 1_000); // its hook's breaker is open: never returned
    alarm.note(2, 4_300);
    // Retry 1 is 3 s late at the claim of 4,195; retry 2 is due in 105 ms: that, not the 3 s recheck.
    expect(alarm.msUntilNext(4_195, 4_196)).toBe(104);
    // Retry 2 missed once too (just due): the recheck follows the most recent one missed.
    expect(alarm.msUntilNext(4_305, 4_306)).toBe(9);
  });

  it("keeps the 1,024 earliest retries, updates a noted one, and ignores what is not a time", () => {
    const alarm = new RetryAlarm();
    // A dead hook's backlog, due in two hours, fills it (noted latest first)…
    for (let id = 2_000; id >= 1; id--) alarm.note(id, 7_200_000 + id);
    expect(alarm.msUntilNext(0, 0)).toBe(7_200_001);
    // …and a retry due in 400 ms still gets its wake-up, in place of the latest-due one.
    alarm.note(5_000, 400);
    alarm.note(3, Number.NaN);
    expect(alarm.msUntilNext(0, 0)).toBe(400);
    alarm.note(1, 20); // a kept one, due again sooner
    expect(alarm.msUntilNext(0, 0)).toBe(20);
    alarm.claimed(rows(1, 5_000, ...Array.from({ length: 1_022 }, (_, i) => i + 2)));
    expect(alarm.msUntilNext(0, 0)).toBeUndefined();
  });

  it("when full, a retry due later than every kept one is not kept", () => {
    const alarm = new RetryAlarm();
    for (let id = 1; id <= 1_024; id++) alarm.note(id, 1_000 + id);
    alarm.note(9_999, 50_000);
    alarm.claimed(rows(...Array.from({ length: 1_024 }, (_, i) => i + 1)));
    expect(alarm.msUntilNext(0, 0)).toBeUndefined();
  });

  it("counts a retry due at the claim's start as seen by it, and keeps one exactly 5 s late", () => {
    const alarm = new RetryAlarm();
    alarm.note(1, 1_000);
    // Due when the claim started and not returned: a recheck, not a wait for its due time.
    expect(alarm.msUntilNext(1_000, 1_000)).toBe(10);
    expect(alarm.msUntilNext(6_000, 6_000)).toBe(5_000);
    expect(alarm.msUntilNext(6_001, 6_001)).toBeUndefined();
  });
});
