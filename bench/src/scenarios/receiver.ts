import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BenchConfig } from "../config.js";
import { unavailableRow, type BenchRow } from "../report.js";

// Written by the receiver kit's engineer; the specifier is a variable so the
// bench typechecks and runs whether or not the file exists yet.
const verifyModule = new URL("../receiver-verify.ts", import.meta.url);

/**
 * The receiver scenario: runs the async function exported by
 * src/receiver-verify.ts (our `verify` vs the `standardwebhooks` package)
 * and returns its rows, or one row saying why it could not run.
 *
 * @example
 * const rows = await receiverScenario(readConfig(process.env))
 */
export async function receiverScenario(config: BenchConfig): Promise<BenchRow[]> {
  if (!existsSync(fileURLToPath(verifyModule))) {
    return [unavailableRow("receiver", "receiver verify", "bench/src/receiver-verify.ts not written yet")];
  }
  const mod = (await import(verifyModule.href)) as Record<string, unknown>;
  const run = [mod.default, ...Object.values(mod)].find((x): x is (c: BenchConfig) => Promise<BenchRow[]> => typeof x === "function");
  if (!run) return [unavailableRow("receiver", "receiver verify", "bench/src/receiver-verify.ts exports no function")];
  return run(config);
}
