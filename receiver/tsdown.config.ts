import { defineConfig } from "tsdown";

// The published build: ESM and CommonJS (Express apps are often CommonJS), each
// with its own .d.ts and source maps, one entry per subpath of `exports`.
export default defineConfig({
  entry: {
    index: "src/index.ts",
    hono: "src/middleware/hono.ts",
    express: "src/middleware/express.ts",
    node: "src/middleware/node.ts",
    fetch: "src/middleware/fetch.ts",
  },
  format: ["esm", "cjs"],
  platform: "node",
  target: "node20",
  dts: true,
  sourcemap: true,
  clean: true,
});
