import { describe, expect, it } from "vitest";
import { createWaker } from "./waker.js";

describe("waker", () => {
  it("ends a sleep on wake, and remembers a wake that came while awake", async () => {
    const waker = createWaker();
    const sleeping = waker.sleep(60_000);
    waker.wake();
    await sleeping; // would hang for a minute without the wake
    // The wake is remembered until cleared: the next sleep returns at once.
    await waker.sleep(60_000);
    waker.clear();
    let ended = false;
    void waker.sleep(20).then(() => (ended = true));
    expect(ended).toBe(false);
  });
});
