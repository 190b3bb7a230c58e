import { build } from "esbuild";

/**
 * Bundles `contents` (an ES module that imports packages) the way a worker's
 * bundler does — esbuild for the browser platform with the conditions
 * wrangler uses (`workerd`, `worker`, `browser`) — into one script that sets
 * `globalThis.HooklineReceiver` to the module's exports. Packages resolve from
 * `resolveDir`. Rejects when anything imports a Node built-in, which a worker
 * could not load. `format: "esm"` makes a worker module instead (its exports kept).
 *
 * @example
 * const script = await bundleForWorkers(`export * from "@hookline/receiver"`, import.meta.dirname);
 * new EdgeVM().evaluate(script);
 */
export async function bundleForWorkers(contents: string, resolveDir: string, format: "iife" | "esm" = "iife"): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir, loader: "ts" },
    bundle: true,
    write: false,
    format,
    ...(format === "iife" ? { globalName: "HooklineReceiver" } : {}),
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}
