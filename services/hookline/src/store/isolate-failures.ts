import { isRowDataError } from "./database-errors.js";

/** What became of a batch written by `writeIsolated`: the parts written (with their offset in the input) and the items that failed alone. */
export interface IsolatedWrite<T, R> {
  written: Array<{ start: number; items: T[]; result: R }>;
  failed: Array<{ index: number; item: T; error: unknown }>;
}

/**
 * Writes `items` with one batched statement (`write`), and when the
 * database refuses it for something in the data (isRowDataError: a value it
 * cannot store, a constraint), writes each half again, down to single items:
 * the bad items fail alone and every other item is written, at about
 * 2·log2(n) extra statements per bad item. One row must never hold back the
 * others (issue 25: one receiver's `ok\0` stalled every hook's outcomes).
 *
 * Anything else — the database lost, unreachable, shutting down, a conflict
 * rolled back — is not the data's fault: it is thrown at once, unsplit, for
 * the caller to retry the whole batch with backoff. So is a batch in which
 * every item failed, more than one of them (the database, not its rows).
 * `write` must change nothing when it throws (one statement, or a savepoint
 * or transaction of its own).
 *
 * @example
 * const { written, failed } = await writeIsolated(outcomes, (some) => recordOutcomes(db, worker, some, policy));
 */
export async function writeIsolated<T, R>(items: T[], write: (some: T[]) => Promise<R>): Promise<IsolatedWrite<T, R>> {
  const result: IsolatedWrite<T, R> = { written: [], failed: [] };
  async function run(start: number, some: T[]): Promise<void> {
    try {
      result.written.push({ start, items: some, result: await write(some) });
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      if (some.length === 1) {
        result.failed.push({ index: start, item: some[0]!, error });
        return;
      }
      const half = Math.ceil(some.length / 2);
      await run(start, some.slice(0, half));
      await run(start + half, some.slice(half));
    }
  }
  await run(0, items);
  if (result.written.length === 0 && result.failed.length > 1) throw result.failed[0]!.error;
  return result;
}
