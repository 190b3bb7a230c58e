import { describe, expect, it } from "vitest";
import { isIdempotent, parseRetryAfter, retryAfterMs, takesIdempotencyKey } from "./retry.js";

// The request-shape rules of retry.ts, on their own (mutation testing found
// them held only indirectly by the server round trips in retry.test.ts).
const request = (method: string, url: string, headers?: Record<string, string>) => new Request(url, { method, headers });

describe("takesIdempotencyKey (the spec's rule: every write under /v1 but Kazoo's profile)", () => {
  it("is true for every write under /v1, also behind a base path", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      expect(takesIdempotencyKey(request(method, "http://h/v1/hooks/4")), method).toBe(true);
      expect(takesIdempotencyKey(request(method, "http://h/api/v1/hooks/4")), `${method} under /api`).toBe(true);
    }
  });

  it("is false for reads and for paths outside /v1", () => {
    for (const method of ["GET", "HEAD", "OPTIONS"]) expect(takesIdempotencyKey(request(method, "http://h/v1/hooks")), method).toBe(false);
    expect(takesIdempotencyKey(request("POST", "http://h/health"))).toBe(false);
  });

  it("is false for Kazoo's collection and its items, also behind a base path; true for deeper paths", () => {
    expect(takesIdempotencyKey(request("PUT", "http://h/v1/accounts/abc/webhooks"))).toBe(false);
    expect(takesIdempotencyKey(request("POST", "http://h/v1/accounts/abc/webhooks/12"))).toBe(false);
    expect(takesIdempotencyKey(request("DELETE", "http://h/api/v1/accounts/abc/webhooks/12"))).toBe(false);
    expect(takesIdempotencyKey(request("POST", "http://h/v1/accounts/abc/webhooks/12/extra"))).toBe(true);
  });
});

describe("isIdempotent", () => {
  it("is true for the idempotent methods without a key, and for any keyed write", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]) expect(isIdempotent(request(method, "http://h/v1/hooks")), method).toBe(true);
    for (const method of ["POST", "PATCH"]) {
      expect(isIdempotent(request(method, "http://h/v1/hooks")), method).toBe(false);
      expect(isIdempotent(request(method, "http://h/v1/hooks", { "Idempotency-Key": "k" })), `${method} with a key`).toBe(true);
    }
  });

  it("is false for Kazoo's create (PUT on the webhooks collection, seed 004), true for a PUT of one webhook", () => {
    expect(isIdempotent(request("PUT", "http://h/v1/accounts/abc/webhooks"))).toBe(false);
    expect(isIdempotent(request("PUT", "http://h/base/v1/accounts/abc/webhooks"))).toBe(false);
    expect(isIdempotent(request("PUT", "http://h/v1/accounts/abc/webhooks/12"))).toBe(true);
  });

  it("is false for a DELETE on the profiles' paths, which take no key (a resend would report 404 for its own delete); true once keyed", () => {
    for (const url of ["http://h/v1/accounts/abc/webhooks/12", "http://h/hooks/4", "http://h/api/hooks/4", "http://h/base/hooks/4"]) {
      expect(isIdempotent(request("DELETE", url)), url).toBe(false);
      expect(isIdempotent(request("DELETE", url, { "Idempotency-Key": "k" })), `${url} with a key`).toBe(true);
    }
    expect(isIdempotent(request("DELETE", "http://h/v1/hooks/4"))).toBe(true);
  });
});

describe("retryAfterMs edges", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads a value with surrounding whitespace", () => {
    expect(retryAfterMs(" 3 ", now)).toBe(3000);
    expect(retryAfterMs(" Thu, 01 Jan 2026 00:00:02 GMT ", now)).toBe(2000);
  });

  it("takes the obsolete RFC 850 and asctime dates, which RFC 9110 §5.6.7 says a recipient MUST accept, and no day that does not exist", () => {
    expect(retryAfterMs("Thursday, 01-Jan-26 00:00:02 GMT", now)).toBe(2000);
    expect(retryAfterMs("Thu Jan  1 00:00:03 2026", now)).toBe(3000);
    expect(retryAfterMs("Wed, 31 Dec 2025 23:59:60 GMT", now), "a leap second").toBe(0);
    for (const junk of ["Sat, 31 Jan 2026 24:00:00 GMT", "Sun, 29 Feb 2026 00:00:02 GMT", "Thu, 31 Apr 2026 00:00:02 GMT", "Thursday, 01 Jan 2026 00:00:02 GMT", "Thu Jan 1 00:00:02 2026"]) {
      expect(retryAfterMs(junk, now), junk).toBe(0);
    }
    // Date.parse rolls a 31st of April over to 1 May; a retry would wait a month.
    expect(Date.parse("Thu, 31 Apr 2026 00:00:02 GMT")).not.toBeNaN();
  });

  it("takes only a whole IMF-fixdate: no text before it, no offset after it (V8 would parse both)", () => {
    expect(Date.parse("On Thu, 01 Jan 2026 00:00:02 GMT") - now).toBe(2000);
    expect(retryAfterMs("On Thu, 01 Jan 2026 00:00:02 GMT", now)).toBe(0);
    expect(Date.parse("Thu, 01 Jan 2026 00:00:02 GMT-01:00") - now).toBe(3_602_000);
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:02 GMT-01:00", now)).toBe(0);
  });
});

describe("parseRetryAfter (the reader the server's worker shares)", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("tells an unusable value (undefined) from a date already past (0)", () => {
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("0", now)).toBe(0);
    for (const unusable of [undefined, null, "", "120.5", "-1", "soon", "2026-01-01T00:00:02Z", "Thu, 31 Apr 2026 00:00:02 GMT"]) {
      expect(parseRetryAfter(unusable, now), String(unusable)).toBeUndefined();
    }
  });

  it("reads the three HTTP-date forms and delay-seconds", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:02 GMT", now)).toBe(2000);
    expect(parseRetryAfter("Thursday, 01-Jan-26 00:00:02 GMT", now)).toBe(2000);
    expect(parseRetryAfter("Thu Jan  1 00:00:03 2026", now)).toBe(3000);
    expect(parseRetryAfter(" 7 ", now)).toBe(7000);
  });
});

describe("parseRetryAfter: an RFC 850 date's two-digit year (RFC 9110 §5.6.7)", () => {
  it("is the next century's when that is within 50 years, as it is at a century's end", () => {
    // 1 January 2100 was a Friday; two seconds before it, "-00" is 2100, not 2000 (a date long past: retry at once).
    expect(parseRetryAfter("Friday, 01-Jan-00 00:00:02 GMT", Date.parse("2099-12-31T23:59:58Z"))).toBe(4000);
    expect(parseRetryAfter("Saturday, 01-Jan-00 00:00:02 GMT", Date.parse("1999-12-31T23:59:58Z"))).toBe(4000);
  });

  it("is the last century's when it appears more than 50 years ahead, to the second, not by the year's number alone", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    // 2076-12-31 is 51 years after now: 1976, long past.
    expect(parseRetryAfter("Thursday, 31-Dec-76 00:00:00 GMT", now)).toBe(0);
    // 2075-12-31 is within 50 years: it stands (the worker bounds the wait).
    expect(parseRetryAfter("Tuesday, 31-Dec-75 00:00:00 GMT", now)).toBe(Date.UTC(2075, 11, 31) - now);
  });
});

describe("parseRetryAfter: only OWS (SP, HTAB) around the value (RFC 9110 §5.5)", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads spaces and tabs around the value", () => {
    expect(parseRetryAfter("\t7 \t", now)).toBe(7000);
    expect(parseRetryAfter("\tThu, 01 Jan 2026 00:00:02 GMT ", now)).toBe(2000);
  });

  it("takes no other white space for OWS: a value with it is unreadable, as `7 s` is", () => {
    // String.prototype.trim drops all of these; a header value can carry 0xA0 (obs-text), which Fetch decodes as Latin-1: a no-break space.
    for (const value of ["\u00a07", "7\u00a0", "\v7", "7\f", "\ufeff7", "\u20287", "\u00a0Thu, 01 Jan 2026 00:00:02 GMT"]) {
      expect(parseRetryAfter(value, now), JSON.stringify(value)).toBeUndefined();
    }
  });
});
