import { expect, it } from "vitest";
import { createMemoryDedupe } from "./dedupe.js";

it("remembers ids and forgets the oldest beyond its bound", () => {
  const store = createMemoryDedupe({ max: 2 });
  store.remember("a");
  store.remember("b");
  expect([store.seen("a"), store.seen("b"), store.seen("c")]).toEqual([true, true, false]);
  store.remember("a"); // refreshed: now the newest
  store.remember("c");
  expect([store.seen("a"), store.seen("b"), store.seen("c")]).toEqual([true, false, true]);
});
