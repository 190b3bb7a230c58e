import { defineConfig } from "tsdown";
import { packageBuild } from "../tsdown.packages.ts";

export default defineConfig(
  packageBuild({
    index: "src/index.ts",
    hono: "src/middleware/hono.ts",
    express: "src/middleware/express.ts",
    node: "src/middleware/node.ts",
    fetch: "src/middleware/fetch.ts",
  }),
);
