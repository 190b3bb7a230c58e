/**
 * Runs `task(i)` for i in [0, n) with at most `concurrency` in flight.
 *
 * @example
 * await inParallel(10_000, 32, (i) => createHook(url, key, target, secret))
 */
export async function inParallel(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, lane));
}
