import { defineConfig } from "tsdown";

// The server's runnable build: compiled JavaScript, one file per source file
// (unbundled, so paths read relative to import.meta.url — the spec bundle,
// package.json — resolve exactly as from src/), npm dependencies left external.
// Types are checked by `pnpm typecheck`, not here: transpiling only keeps the
// build (run on every install) to seconds.
export default defineConfig({
  // The worker thread's entry is loaded by URL, not imported, so it is listed here.
  entry: ["src/main.ts", "src/cli.ts", "src/index.ts", "src/delivery/worker-thread-entry.ts"],
  unbundle: true,
  format: ["esm"],
  platform: "node",
  target: "node20",
  dts: false,
  sourcemap: true,
  clean: true,
  // Workspace packages export TypeScript sources (for development), so they are compiled in.
  noExternal: [/^@hookline\//],
  // Files read at run time beside the code that reads them.
  copy: [
    { from: "src/http/dashboard/dashboard.css", to: "dist/http/dashboard" },
    { from: "src/http/dashboard/dashboard.js", to: "dist/http/dashboard" },
  ],
});
