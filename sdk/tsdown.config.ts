import { defineConfig } from "tsdown";

// The published build: ESM and CommonJS, each with its own .d.ts and source maps.
export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm", "cjs"],
  platform: "node",
  target: "node20",
  dts: true,
  sourcemap: true,
  clean: true,
});
