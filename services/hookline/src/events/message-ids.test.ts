import { decodeTime } from "ulid";
import { describe, expect, it } from "vitest";
import { ulidFactory } from "./message-ids.js";

describe("ulidFactory", () => {
  it("makes valid, unique ULIDs in creation order, across pool refills", () => {
    const next = ulidFactory();
    const before = Date.now();
    // 20,000 ids: several refills of the 4 KiB pool (16 bytes per new millisecond).
    const ids = Array.from({ length: 20_000 }, () => next());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(decodeTime(ids[0]!)).toBeGreaterThanOrEqual(before);
  });

  it("draws every character of the random part (the pool's bytes spread over all 32)", () => {
    const seen = new Set<string>();
    // Each factory starts a new millisecond's random part: 16 fresh characters.
    for (let i = 0; i < 200; i++) for (const ch of ulidFactory()().slice(10)) seen.add(ch);
    expect(seen.size).toBe(32);
  });
});
