/**
 * The claim loop's alarm clock: `sleep(ms)` ends early on `wake()` (a
 * NOTIFY, a freed slot, a recorded batch, stop). A wake that comes while the
 * loop is busy is remembered, so none is lost; `clear()` forgets it just
 * before the loop looks at the world again.
 *
 * @example
 * const waker = createWaker(); waker.clear(); await waker.sleep(1000); // or waker.wake() from elsewhere
 */
export function createWaker() {
  let woken = false;
  let wakeSleeper: (() => void) | undefined;
  return {
    wake(): void {
      woken = true;
      wakeSleeper?.();
    },
    clear(): void {
      woken = false;
    },
    sleep(ms: number): Promise<void> {
      if (woken) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wakeSleeper = undefined;
          resolve();
        }
        wakeSleeper = done;
      });
    },
  };
}

export type Waker = ReturnType<typeof createWaker>;
