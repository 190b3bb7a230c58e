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
});
