import { getEventListeners, setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { attemptSignal } from "./transport.js";

describe("attemptSignal (one attempt's deadline joined with the worker's shutdown)", () => {
  it("aborts when the deadline passes, and says it timed out", async () => {
    const shutdown = new AbortController();
    const { signal, timedOut, release } = attemptSignal(30, shutdown.signal);
    expect(signal.aborted).toBe(false);
    expect(timedOut()).toBe(false);
    await sleep(80);
    expect(signal.aborted).toBe(true);
    expect(timedOut()).toBe(true);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
    release();
  });

  it("aborts with the shutdown's reason when the worker stops first, and that is not a timeout", () => {
    const shutdown = new AbortController();
    const { signal, timedOut, release } = attemptSignal(60_000, shutdown.signal);
    const reason = new Error("stopping");
    shutdown.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(timedOut()).toBe(false);
    release();
  });

  it("starts aborted when the shutdown already happened", () => {
    const shutdown = new AbortController();
    shutdown.abort(new Error("stopped"));
    const { signal, release } = attemptSignal(60_000, shutdown.signal);
    expect(signal.aborted).toBe(true);
    release();
  });

  it("once released, neither the deadline nor a later shutdown touches it, and the shutdown signal keeps no listener", async () => {
    const shutdown = new AbortController();
    // As the worker does: every attempt in flight listens to the one shutdown signal.
    setMaxListeners(0, shutdown.signal);
    const attempts = Array.from({ length: 50 }, () => attemptSignal(20, shutdown.signal));
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(50);
    for (const a of attempts) a.release();
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
    await sleep(60);
    shutdown.abort();
    for (const a of attempts) {
      expect(a.signal.aborted).toBe(false);
      expect(a.timedOut()).toBe(false);
    }
  });

  it("works without a shutdown signal (pings)", async () => {
    const { signal, timedOut } = attemptSignal(10);
    await sleep(40);
    expect(signal.aborted).toBe(true);
    expect(timedOut()).toBe(true);
  });
});
