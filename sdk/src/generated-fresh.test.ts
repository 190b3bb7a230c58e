import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const sdkDir = fileURLToPath(new URL("..", import.meta.url));
const committed = join(sdkDir, "src/generated/schema.ts");

/**
 * The package's own `generate` script, with its output sent to `out`: the
 * check runs exactly what `pnpm generate` runs, so the two cannot drift.
 */
async function generationArgs(out: string): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(sdkDir, "package.json"), "utf8")) as { scripts: { generate: string } };
  const [command, ...args] = pkg.scripts.generate.split(/\s+/);
  expect(command).toBe("openapi-typescript");
  const output = args.findIndex((a) => a === "-o" || a === "--output");
  expect(output, "the generate script names its output with -o").toBeGreaterThan(-1);
  args[output + 1] = out;
  return args;
}

describe("sdk/src/generated/schema.ts", () => {
  it("equals a fresh openapi-typescript generation from openapi/openapi.yaml", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hookline-sdk-schema-"));
    try {
      const out = join(dir, "schema.ts");
      const cli = join(sdkDir, "node_modules/openapi-typescript/bin/cli.js");
      await promisify(execFile)(process.execPath, [cli, ...(await generationArgs(out))], { cwd: sdkDir });
      const [fresh, current] = await Promise.all([readFile(out, "utf8"), readFile(committed, "utf8")]);
      expect(current === fresh, "sdk/src/generated/schema.ts is stale: run `npx --yes pnpm@10.34.9 generate` (pnpm generate) and commit it").toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
