import type { UserConfig } from "tsdown";

/**
 * The build of an npm package of this workspace (`@hookline/sdk`,
 * `@hookline/receiver`): ESM and CommonJS (Express apps are often CommonJS),
 * each with its own .d.ts and source maps, one entry per `exports` subpath.
 */
export function packageBuild(entry: Record<string, string>): UserConfig {
  return { entry, format: ["esm", "cjs"], platform: "node", target: "node20", dts: true, sourcemap: true, clean: true };
}
