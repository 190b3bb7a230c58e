import { setFlagsFromString } from "node:v8";

/**
 * How far V8 lets the JavaScript heap grow past what the last full
 * collection kept, in percent, for a process that runs the embedded PGlite
 * database: 30 (a factor of 1.3). V8's own factor is chosen per collection,
 * from 1.1 up to 4, and a process that allocates fast (a batch publish, the
 * delivery worker on the same thread) gets the high end: through 20,000
 * events, a default start's heap grew to 129–191 MB while it kept 43–75 MB
 * alive, and its peak RSS reached 355–429 MB. At 30% the heap stayed at
 * ≈90 MB and the peak at 318–361 MB, in the same time (bench/README.md,
 * "eighth run"). A fixed factor, not a limit: V8 uses 1.3 even where it
 * would have chosen 1.1, and the heap may still grow as far as it needs.
 */
export const EMBEDDED_HEAP_GROWING_PERCENT = 30;

/** The V8 option this sets, as the `node` command line spells it (NODE_OPTIONS does not take it). */
const OPTION = "--heap-growing-percent";

/**
 * Fixes V8's heap growing factor for this process (`--heap-growing-percent`,
 * a V8 option read at every full collection, so setting it once running
 * takes effect). Used by a start on embedded PGlite, whose WASM heap
 * (shared buffers, catalogue caches) already takes ≈140 MB of the process
 * and never shrinks; on PostgreSQL the process keeps V8's defaults. An
 * operator's own `--heap-growing-percent` on the node command line
 * (`node --heap-growing-percent=0 bin/hookline.mjs start`: V8's own factor)
 * wins: nothing is set then. Returns whether it set the option.
 *
 * @example
 * if (!config.databaseUrl) setEmbeddedHeapGrowth();
 */
export function setEmbeddedHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  const chosen = execArgv.some((arg) => arg.replaceAll("_", "-").startsWith(OPTION));
  if (chosen) return false;
  setFlagsFromString(`${OPTION}=${EMBEDDED_HEAP_GROWING_PERCENT}`);
  return true;
}
