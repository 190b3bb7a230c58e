import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// Mutation testing on one module (stryker.config.mjs): MUTATE_TESTS names the
// test files that must kill its mutants (comma-separated globs). The `related`
// set of a module every client call passes through (sdk/src/retry.ts) is the
// whole live-server suite, hours of runs on two cores; its own unit tests are
// the ones that should pin it anyway.
const only = (process.env.MUTATE_TESTS ?? "")
  .split(",")
  .map((glob) => glob.trim())
  .filter(Boolean);
if (only.length === 0) throw new Error("vitest.mutate.config.ts: set MUTATE_TESTS to the test files to run");

export default defineConfig({ ...base, test: { ...base.test, include: only } });
