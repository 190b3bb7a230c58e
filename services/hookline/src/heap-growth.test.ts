import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { EMBEDDED_HEAP_GROWING_PERCENT, setEmbeddedHeapGrowth } from "./heap-growth.js";

describe("setEmbeddedHeapGrowth", () => {
  it("sets V8's heap growing percent when the operator chose none", () => {
    expect(EMBEDDED_HEAP_GROWING_PERCENT).toBeGreaterThan(0);
    expect(setEmbeddedHeapGrowth(["--enable-source-maps", "--max-old-space-size=512"])).toBe(true);
  });

  it.each([
    ["as the README spells it", ["--enable-source-maps", "--heap-growing-percent=80"]],
    ["in V8's underscore spelling", ["--heap_growing_percent=80"]],
  ])("leaves an operator's own choice on the node command line alone, %s", (_how, execArgv) => {
    expect(setEmbeddedHeapGrowth(execArgv)).toBe(false);
  });
});

/**
 * Starts Hookline on embedded PGlite in a child process, then allocates
 * objects that live long enough to reach the old generation and die there
 * (as a batch publish's and a claim's do) beside a steady live set, and
 * prints the largest JavaScript heap (MB) it saw. The figures are V8's, not
 * timing: with V8's own factor the heap reached ≈540 MB, at 1.3 ≈220 MB.
 */
const CHILD = `
  import { getHeapStatistics } from "node:v8";
  const { startHookline } = await import(${JSON.stringify(new URL("./hookline.ts", import.meta.url).href)});
  const { loadConfig } = await import(${JSON.stringify(new URL("./config.ts", import.meta.url).href)});
  const { createLogger } = await import(${JSON.stringify(new URL("./logger.ts", import.meta.url).href)});
  const hookline = await startHookline(loadConfig({ PORT: "0", HOOKLINE_DATA_DIR: "memory://", HOOKLINE_ROLE: "api" }), createLogger("silent"));
  const live = Array.from({ length: 300_000 }, (_, i) => ({ i, s: "v" + i }));
  const ring = new Array(400_000);
  let peak = 0;
  for (let i = 0; i < 6_000_000; i++) {
    ring[i % ring.length] = { i, s: "x" + i, a: [i] };
    if (i % 10_000 === 0) peak = Math.max(peak, getHeapStatistics().total_heap_size);
  }
  await hookline.stop();
  console.log(JSON.stringify({ peakMb: Math.round(peak / 1048576), live: live.length }));
`;

async function peakHeapMb(nodeArgs: string[]): Promise<number> {
  // A heap limit of 4 GB in both: below 2 GB, V8's own factor stops at 1.3–2 and the two would not differ.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--max-old-space-size=4096", ...nodeArgs, "--import", "tsx", "--input-type=module", "-e", CHILD],
    {
      cwd: fileURLToPath(new URL("../../..", import.meta.url)),
      timeout: 120_000,
    },
  );
  return (JSON.parse(stdout.trim().split("\n").at(-1)!) as { peakMb: number }).peakMb;
}

describe("an embedded start", () => {
  it("keeps V8's heap close to what it keeps alive; an operator's own --heap-growing-percent (here V8's default, 0) wins", async () => {
    const embedded = await peakHeapMb([]);
    const operatorsChoice = await peakHeapMb(["--heap-growing-percent=0"]);
    expect(embedded, `embedded ${embedded} MB, V8's default ${operatorsChoice} MB`).toBeLessThan(operatorsChoice * 0.7);
  }, 240_000);
});
