import { describe, expect, it } from "vitest";
import { retryAfterMs, retryDelayMs } from "./schedule.js";

describe("retryDelayMs", () => {
  const schedule = [1000, 60_000, 3_600_000];
  it("follows the schedule with ±20 % jitter, repeating the last step", () => {
    expect(retryDelayMs(1, schedule, () => 0)).toBe(800);
    expect(retryDelayMs(1, schedule, () => 1)).toBe(1200);
    expect(retryDelayMs(2, schedule, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(3, schedule, () => 0.5)).toBe(3_600_000);
    expect(retryDelayMs(9, schedule, () => 0.5)).toBe(3_600_000);
  });
});

describe("retryAfterMs", () => {
  it("reads delay-seconds and HTTP-dates, bounded by the maximum", () => {
    expect(retryAfterMs("120", 3600)).toBe(120_000);
    expect(retryAfterMs("999999", 3600)).toBe(3_600_000);
    const now = Date.parse("2026-11-22T15:00:00Z");
    expect(retryAfterMs("Sun, 22 Nov 2026 15:00:30 GMT", 3600, now)).toBe(30_000);
    expect(retryAfterMs("Sun, 22 Nov 2026 14:00:00 GMT", 3600, now)).toBe(0);
  });
  it("ignores absent or unreadable values", () => {
    expect(retryAfterMs(undefined, 3600)).toBeUndefined();
    expect(retryAfterMs("soon", 3600)).toBeUndefined();
  });

  it("takes an HTTP-date in all three forms RFC 9110 §5.6.7 says a recipient MUST accept, read field by field", () => {
    const now = Date.parse("2026-11-22T15:00:00Z");
    expect(retryAfterMs("Sunday, 22-Nov-26 15:00:30 GMT", 3600, now)).toBe(30_000);
    expect(retryAfterMs("Sun Nov 22 15:00:30 2026", 3600, now)).toBe(30_000);
    expect(retryAfterMs("Sun Nov  2 15:00:00 2026", 3600, now)).toBe(0);
    // A two-digit year more than 50 years ahead is the last century's: 1977, long past.
    expect(retryAfterMs("Tuesday, 22-Nov-77 15:00:30 GMT", 3600, now)).toBe(0);
    // …and one within 50 years stands, also across a century's end (2100, not 2000).
    expect(retryAfterMs("Friday, 01-Jan-00 00:00:02 GMT", 3600, Date.parse("2099-12-31T23:59:58Z"))).toBe(4000);
    // A day or time that does not exist is no date, whatever Date.parse would make of it.
    for (const junk of ["Sun, 31 Nov 2026 15:00:30 GMT", "Sun, 29 Feb 2026 15:00:30 GMT", "Sunday, 22-Nov-26 24:00:00 GMT", "Sun Nov 22 15:60:00 2026", "Sun Nov 22 15:00:30 26"]) {
      expect(retryAfterMs(junk, 3600, now), junk).toBeUndefined();
    }
    expect(retryAfterMs("Sun, 22 Nov 2026 15:00:60 GMT", 3600, now), "a leap second").toBe(60_000);
  });

  it("takes only RFC 9110's two forms: anything else falls back to the schedule", () => {
    const now = Date.parse("2026-11-22T15:00:00Z");
    for (const junk of ["120.5", "1.5", "-1", "+5", "1e3", "0x10", " 12 s", "2026-11-22T15:00:30Z", "Sunday, 22 Nov 2026 15:00:30 GMT", "Sun, 22-Nov-26 15:00:30 GMT", "Sun Nov 22 15:00:30 2026 GMT", "Sun, 22 Nov 2026 15:00:30 +0000", "\u00a07"]) {
      expect(retryAfterMs(junk, 3600, now), junk).toBeUndefined();
    }
    expect(retryAfterMs(" 7 ", 3600, now)).toBe(7000);
    // The IMF-fixdate shape must be the whole value, and name a real time.
    for (const junk of ["On Sun, 22 Nov 2026 15:00:30 GMT", "Sun, 22 Nov 2026 15:00:30 GMT-01:00", "Sun, 22 Nov 2026 25:00:00 GMT"]) {
      expect(retryAfterMs(junk, 3600, now), junk).toBeUndefined();
    }
  });
});
