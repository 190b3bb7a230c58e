import { describe, expect, it } from "vitest";
import { EMBEDDED_HEAP_GROWING_PERCENT, limitHeapGrowth } from "./heap-growth.js";

describe("limitHeapGrowth", () => {
  it("sets V8's heap growing percent when the operator chose none", () => {
    expect(EMBEDDED_HEAP_GROWING_PERCENT).toBeGreaterThan(0);
    expect(limitHeapGrowth({ NODE_OPTIONS: "--max-old-space-size=512" }, ["--enable-source-maps"])).toBe(true);
  });

  it.each([
    ["NODE_OPTIONS", { NODE_OPTIONS: "--enable-source-maps --heap-growing-percent=80" }, []],
    ["NODE_OPTIONS, V8's underscore spelling", { NODE_OPTIONS: "--heap_growing_percent=80" }, []],
    ["the node command line", {}, ["--heap-growing-percent=80"]],
  ])("leaves an operator's own choice in %s alone", (_where, env, execArgv) => {
    expect(limitHeapGrowth(env, execArgv)).toBe(false);
  });
});
