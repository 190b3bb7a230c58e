// Mutation testing (issue 12): `pnpm mutate` — slow, never in CI.
// Mutates the code where a silent regression hurts most and runs the vitest
// tests related to each mutated file (vitest's module graph, `related`).
// One module at a time while working:
//   pnpm mutate --mutate receiver/src/verify.ts
// PostgreSQL-only tests run when TEST_DATABASE_URL is set, as in the suite.
// When the related set is the live-server suite (too slow), name the tests:
//   MUTATE_TESTS=sdk/src/retry.test.ts pnpm mutate --mutate sdk/src/retry.ts
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  packageManager: "pnpm",
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: process.env.MUTATE_TESTS ? "vitest.mutate.config.ts" : "vitest.config.ts", related: true },
  mutate: [
    "services/hookline/src/delivery/**/*.ts",
    "services/hookline/src/store/**/*.ts",
    "services/hookline/src/targets/**/*.ts",
    "services/hookline/src/signing/**/*.ts",
    "services/hookline/src/http/listen/**/*.ts",
    "services/hookline/src/cli/listen-command.ts",
    "receiver/src/verify.ts",
    "receiver/src/dispatch.ts",
    "sdk/src/retry.ts",
    "sdk/src/paginate.ts",
    "!**/*.test.ts",
    "!**/test-fixtures.ts",
    "!services/hookline/src/store/migrations/**",
  ],
  coverageAnalysis: "perTest",
  // Stryker prepends `// @ts-nocheck` to every sandbox file by default; the
  // README-examples test compares sdk/examples/*.ts to the README verbatim, so
  // only source directories (where mutated files live) get the marker.
  disableTypeChecks: "{sdk,receiver,services/hookline}/src/**/*.ts",
  // Two cores: one test process per core.
  concurrency: 2,
  timeoutMS: 30_000,
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  tempDirName: ".stryker-tmp",
  thresholds: { high: 90, low: 85, break: null },
};
