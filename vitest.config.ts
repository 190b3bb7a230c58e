import { defineConfig } from "vitest/config";

// One config for the whole workspace: tests live beside the code (`*.test.ts`)
// and in test/ (the contract suite). Two cores here, so two forks.
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    // .stryker-tmp holds mutation-testing sandboxes (copies of the repo): never collect tests there.
    exclude: ["**/node_modules/**", "bench/**", ".stryker-tmp/**"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
