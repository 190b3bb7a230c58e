import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

// Stryker's sandbox links each node_modules folder to the original checkout's,
// and pnpm's workspace links in them are relative: `@hookline/server` from a
// test in test/ resolved to the original, unmutated source, so those tests
// never ran against a mutant (and, not `related`, never ran at all). Each
// workspace package's own entry points resolve inside this folder instead.
const root = fileURLToPath(new URL("./", import.meta.url));
const alias = ["services/hookline", "sdk", "receiver"].flatMap((dir) => {
  const pkg = JSON.parse(readFileSync(`${root}${dir}/package.json`, "utf8")) as { name: string; exports: Record<string, unknown> };
  return Object.entries(pkg.exports)
    .filter((entry): entry is [string, string] => typeof entry[1] === "string")
    .map(([subpath, file]) => ({ find: new RegExp(`^${pkg.name}${subpath.slice(1)}$`), replacement: `${root}${dir}/${file.slice(2)}` }));
});

export default defineConfig({ ...base, resolve: { ...base.resolve, alias }, test: { ...base.test, include: only } });
