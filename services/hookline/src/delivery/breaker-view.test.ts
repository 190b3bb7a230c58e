import { describe, expect, it } from "vitest";
import { BreakerView } from "./breaker-view.js";

/** Starts rows of `hook` while the view lets them; returns how many started. */
function startAll(view: BreakerView, hook: number, rows: number): number {
  let started = 0;
  while (started < rows && view.mayStart(hook)) {
    view.started(hook);
    started++;
  }
  return started;
}

describe("BreakerView (a worker's own view of each hook's breaker)", () => {
  it("lets a burst of a healthy hook start at most the threshold, widening by one per success", () => {
    const view = new BreakerView(10);
    for (let i = 0; i < 100; i++) view.claimed(1, 0);
    expect(startAll(view, 1, 100)).toBe(10);
    expect(view.answered(1, "success")).toBe(false);
    expect(startAll(view, 1, 100)).toBe(2); // one slot freed, one more allowed
  });

  it("starts only what is left of the threshold after failures, and opens at the threshold counting the claim's count", () => {
    const view = new BreakerView(10);
    for (let i = 0; i < 50; i++) view.claimed(1, 4);
    expect(startAll(view, 1, 50)).toBe(6); // 10 − 4 already failed
    for (let i = 0; i < 5; i++) expect(view.answered(1, "failure")).toBe(false);
    expect(startAll(view, 1, 50)).toBe(0); // 4 + 5 failures + 1 open = 10
    expect(view.answered(1, "failure")).toBe(true);
    expect(view.mayStart(1)).toBe(false);
  });

  it("hands back rows a claim brings while it is open here, until the claim reads the threshold (a probe)", () => {
    const view = new BreakerView(3);
    view.claimed(1, 0);
    view.claimed(1, 0);
    view.claimed(1, 0);
    startAll(view, 1, 3);
    for (let i = 0; i < 3; i++) view.queued(1);
    view.answered(1, "failure");
    view.answered(1, "failure");
    expect(view.answered(1, "failure")).toBe(true);
    // The failures are not recorded yet: a claim that read 0 brings a row of the hook.
    expect(view.claimed(1, 0)).toBe(false);
    expect(view.claimed(1, 3)).toBe(true); // the database knows: one probe may start
    expect(startAll(view, 1, 1)).toBe(1);
    expect(view.answered(1, "success")).toBe(false);
    for (let i = 0; i < 3; i++) view.recorded(1);
    // Nothing held or unrecorded: forgotten, the next burst starts from the claim's count.
    view.claimed(1, 0);
    expect(startAll(view, 1, 20)).toBe(3);
  });

  it("counts only what a later claim's count adds to this worker's own recorded failures", () => {
    const view = new BreakerView(5);
    view.claimed(1, 0);
    view.claimed(1, 0);
    view.started(1);
    view.started(1);
    expect(view.answered(1, "failure")).toBe(false); // 1 failure of ours
    // The next claim read 3: our failure (recorded meanwhile) and 2 from elsewhere.
    expect(view.claimed(1, 3)).toBe(true);
    expect(view.answered(1, "failure")).toBe(false); // 2 + our 2 = 4, below 5
    expect(startAll(view, 1, 10)).toBe(1); // 5 − 4
  });

  it("narrows to what is left of the threshold after a failure, and does not count an attempt with no answer as one", () => {
    const view = new BreakerView(10);
    for (let i = 0; i < 20; i++) view.claimed(1, 0);
    view.started(1);
    view.started(1);
    view.started(1);
    expect(view.answered(1, "none")).toBe(false);
    expect(view.answered(1, "none")).toBe(false);
    expect(view.answered(1, "failure")).toBe(false);
    expect(startAll(view, 1, 20)).toBe(9); // 10 − 1 failure; the two cut short spent nothing
  });

  it("forgets a hook once it holds none of its rows and every outcome it saw is recorded, not before", () => {
    const view = new BreakerView(3);
    view.claimed(1, 0);
    view.claimed(1, 0);
    expect(startAll(view, 1, 1)).toBe(1);
    view.queued(1);
    view.answered(1, "success"); // the allowance widens past the threshold: 4
    view.released(1, 1); // the other row handed back
    // Its success is not recorded yet: the view (and its wider allowance) stays.
    for (let i = 0; i < 10; i++) view.claimed(1, 0);
    expect(startAll(view, 1, 10)).toBe(4);
    for (let i = 0; i < 4; i++) view.answered(1, "none");
    view.released(1, 6);
    view.recorded(1);
    // Nothing held, everything recorded: the next burst starts from the threshold again.
    for (let i = 0; i < 10; i++) view.claimed(1, 0);
    expect(startAll(view, 1, 10)).toBe(3);
  });

  it("lets a hook it holds no row of start, and ignores answers and records of it", () => {
    const view = new BreakerView(3);
    expect(view.mayStart(7)).toBe(true);
    view.started(7);
    view.queued(7);
    expect(view.answered(7, "failure")).toBe(false);
    view.recorded(7);
    view.released(7, 1);
    expect(view.mayStart(7)).toBe(true);
  });

  it("keeps a probe's hook while the probe is out, though the failures before it are recorded meanwhile: a failed probe opens it again", () => {
    const view = new BreakerView(2);
    expect(view.claimed(1, 0)).toBe(true);
    expect(view.claimed(1, 0)).toBe(true);
    startAll(view, 1, 2);
    view.queued(1);
    view.queued(1);
    view.answered(1, "failure");
    expect(view.answered(1, "failure")).toBe(true);
    expect(view.claimed(1, 2)).toBe(true); // the probe
    expect(startAll(view, 1, 1)).toBe(1);
    view.recorded(1);
    view.recorded(1);
    view.queued(1); // as the worker does: the outcome is queued, then the answer counted
    expect(view.answered(1, "failure")).toBe(true);
    expect(view.mayStart(1)).toBe(false);
  });
});
