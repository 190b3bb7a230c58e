import { defineConfig } from "tsdown";
import { packageBuild } from "../tsdown.packages.ts";

export default defineConfig(packageBuild({ index: "src/index.ts" }));
