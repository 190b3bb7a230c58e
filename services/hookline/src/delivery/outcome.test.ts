import { describe, expect, it } from "vitest";
import { cancelledOutcome, outcomeOf, releasedOutcome, unsentOutcome, withNoteForUnstorable } from "./outcome.js";
import type { OutgoingRequest } from "./request.js";
import type { AttemptResult } from "./transport.js";

const config = { retryScheduleMs: [1000, 60_000], retryAfterMaxSeconds: 30 };
/** The event's data differs from `post`'s body: what was sent is custom_data merged in, so the log keeps a copy. */
const row = { id: 11, hook_id: 7, attempts: 0, retry_base: 0, retries: 3, data_json: '{"b":2}' };
const post: OutgoingRequest = { url: "http://127.0.0.1:9/in", method: "POST", body: '{"a":1}', headers: { "webhook-id": "msg_1" } };
const startedAt = new Date("2026-12-06T05:00:00.000Z");
const answer = (fields: Partial<AttemptResult>): AttemptResult => ({
  ok: false,
  status: 500,
  body: Buffer.from("nope"),
  headers: { "content-type": "text/plain" },
  errorKind: "status",
  error: "HTTP 500",
  durationMs: 12,
  startedAt,
  ...fields,
});
/** Milliseconds from now until `outcome`'s next attempt. */
const dueIn = (at: string | null) => Date.parse(at!) - Date.now();

/** What an attempt's answer makes of its delivery and hook (PRODUCT §4), as outcome.ts decides it. */
describe("outcomeOf", () => {
  it("records a 2xx as a success, with the attempt as sent and received", () => {
    const outcome = outcomeOf(row, post, answer({ ok: true, status: 204, body: Buffer.from("ok"), errorKind: null, error: null }), config);
    expect(outcome).toEqual({
      delivery_id: 11,
      hook_id: 7,
      outcome: "succeeded",
      next_attempt_at: null,
      attempt: {
        attempted_at: "2026-12-06T05:00:00.000Z",
        duration_ms: 12,
        request_headers: { "webhook-id": "msg_1" },
        request_body: '{"a":1}',
        request_from_event: false,
        response_status: 204,
        response_headers: { "content-type": "text/plain" },
        response_body: "ok",
        response_body_encoding: "text",
        error_kind: null,
        error: null,
      },
      hook: { last_status: "success", last_reason: "HTTP 204", last_context: '{"a":1}', failed: false, deactivate: false },
    });
  });

  it("records no response (a refused connection) with no status, headers or body, and 'failed' as the reason when no error text came", () => {
    const outcome = outcomeOf(row, post, answer({ status: null, body: null, headers: {}, errorKind: "connection", error: null }), config);
    expect(outcome.attempt).toMatchObject({ response_status: null, response_headers: null, response_body: null, response_body_encoding: "text", error: null });
    expect(outcome.hook.last_reason).toBe("failed");
  });

  it("keeps the first 4096 characters of what was sent, and a GET hook's URL (its query string is what it sends)", () => {
    const long = `"${"x".repeat(5000)}"`;
    const cut = outcomeOf(row, { ...post, body: long }, answer({}), config);
    expect(cut.attempt!.request_body).toBe(long.slice(0, 4096));
    expect(cut.hook.last_context).toBe(long.slice(0, 4096));
    const exact = `"${"x".repeat(4094)}"`;
    expect(outcomeOf(row, { ...post, body: exact }, answer({}), config).attempt!.request_body).toBe(exact);
    const get = outcomeOf(row, { url: "http://127.0.0.1:9/in?a=1", method: "GET", body: "a=1", headers: {} }, answer({}), config);
    expect(get.attempt!.request_body).toBe("http://127.0.0.1:9/in?a=1");
  });

  it("logs a request made from the event as it is by reference instead of copying it (issue 20); a cut body, a changed one, a GET's query and a header not as derived keep their copies", () => {
    const derived = { "content-type": "application/json", "accept-encoding": "identity", "hookline-event-type": "build.done", "webhook-id": "msg_1" };
    const fromEvent = { ...row, data_json: post.body, event_type: "build.done", message_id: "msg_1" };
    const sent = { ...post, headers: { ...derived, "webhook-signature": "v1,abc", "webhook-timestamp": "1765000000" } };
    const sentAsIs = outcomeOf(fromEvent, sent, answer({}), config);
    // The derived headers are left out; the signature and timestamp (not derivable) stay.
    expect(sentAsIs.attempt).toMatchObject({ request_body: null, request_from_event: true });
    expect(sentAsIs.attempt!.request_headers).toEqual({ "webhook-signature": "v1,abc", "webhook-timestamp": "1765000000" });
    // The hook's last_context is one row per hook, not per attempt: it keeps its copy.
    expect(sentAsIs.hook.last_context).toBe(post.body);
    for (const [name, value] of Object.entries({ "content-type": "text/plain", "accept-encoding": "gzip", "hookline-event-type": "other", "webhook-id": "msg_2" })) {
      const unlike = outcomeOf(fromEvent, { ...sent, headers: { ...sent.headers, [name]: value } }, answer({}), config).attempt!;
      expect(unlike, name).toMatchObject({ request_body: post.body, request_from_event: false });
      expect(unlike.request_headers[name], name).toBe(value);
    }
    const long = `"${"x".repeat(5000)}"`;
    expect(outcomeOf({ ...fromEvent, data_json: long }, { ...sent, body: long }, answer({}), config).attempt).toMatchObject({ request_body: long.slice(0, 4096), request_from_event: false });
    expect(outcomeOf({ ...fromEvent, data_json: '{"a":1 }' }, sent, answer({}), config).attempt).toMatchObject({ request_body: '{"a":1}', request_from_event: false });
    const get = outcomeOf({ ...fromEvent, data_json: "a=1" }, { url: "http://127.0.0.1:9/in?a=1", method: "GET", body: "a=1", headers: derived }, answer({}), config);
    expect(get.attempt).toMatchObject({ request_body: "http://127.0.0.1:9/in?a=1", request_from_event: false, request_headers: derived });
    expect(withNoteForUnstorable(sentAsIs, new Error("refused")).attempt).toMatchObject({ request_body: null, request_from_event: false });
  });

  it("treats a body of the cap's length as cut (a UTF-8 sequence cut at its end is dropped), and a shorter one as whole (the same bytes are binary)", () => {
    const cutEuro = Buffer.from("€").subarray(0, 2);
    const atCap = Buffer.concat([Buffer.from("a".repeat(4094)), cutEuro]);
    expect(outcomeOf(row, post, answer({ body: atCap }), config).attempt).toMatchObject({ response_body: "a".repeat(4094), response_body_encoding: "text" });
    const under = Buffer.concat([Buffer.from("a".repeat(4093)), cutEuro]);
    expect(outcomeOf(row, post, answer({ body: under }), config).attempt).toMatchObject({ response_body: under.toString("base64"), response_body_encoding: "base64" });
  });

  it("makes what the receiver sent storable: NUL in header names, values and the error escaped", () => {
    const outcome = outcomeOf(row, { ...post, headers: { "x-sent\0": "v\0" } }, answer({ headers: { "x-got\0": "w\0" }, error: "bad\0" }), config);
    expect(outcome.attempt).toMatchObject({ request_headers: { "x-sent\\u0000": "v\\u0000" }, response_headers: { "x-got\\u0000": "w\\u0000" }, error: "bad\\u0000" });
    expect(outcome.hook.last_reason).toBe("bad\\u0000");
  });

  it("fails a 410 Gone for good and deactivates the hook, retries left or not", () => {
    const outcome = outcomeOf(row, post, answer({ status: 410, error: "HTTP 410" }), config);
    expect(outcome).toMatchObject({ outcome: "failed", next_attempt_at: null });
    expect(outcome.exhausted).toBeUndefined();
    expect(outcome.hook).toEqual({ last_status: "failure", last_reason: "HTTP 410: the receiver is gone, hook deactivated", last_context: '{"a":1}', failed: true, deactivate: true });
  });

  it("retries while the hook's retries last, counted from the delivery's retry base, then fails it as exhausted", () => {
    // retries 3: attempts 1 (the first), then retries 1..3; a redelivered row counts from its retry_base.
    const last = outcomeOf({ ...row, attempts: 12, retry_base: 10 }, post, answer({}), config);
    expect(last).toMatchObject({ outcome: "retry", hook: { last_status: "failure", last_reason: "HTTP 500", failed: null, deactivate: false } });
    expect(last.exhausted).toBeUndefined();
    const spent = outcomeOf({ ...row, attempts: 13, retry_base: 10 }, post, answer({}), config);
    expect(spent).toMatchObject({ outcome: "failed", next_attempt_at: null, exhausted: true });
    expect(spent.hook).toEqual({ last_status: "failure", last_reason: "HTTP 500 (retries exhausted)", last_context: '{"a":1}', failed: true, deactivate: false });
  });

  it("waits the schedule's step for the retry it makes (±20 %)", () => {
    const first = dueIn(outcomeOf(row, post, answer({}), config).next_attempt_at);
    expect(first).toBeGreaterThan(700);
    expect(first).toBeLessThanOrEqual(1200);
    const second = dueIn(outcomeOf({ ...row, attempts: 1 }, post, answer({}), config).next_attempt_at);
    expect(second).toBeGreaterThan(47_000);
    expect(second).toBeLessThanOrEqual(72_000);
  });

  it("honours Retry-After on 429 and 503 only, bounded by the configured maximum", () => {
    const withRetryAfter = (status: number, value: string) => dueIn(outcomeOf(row, post, answer({ status, headers: { "retry-after": value } }), config).next_attempt_at);
    expect(withRetryAfter(429, "20")).toBeGreaterThan(19_000);
    expect(withRetryAfter(503, "20")).toBeGreaterThan(19_000);
    expect(withRetryAfter(503, "20")).toBeLessThanOrEqual(20_000);
    expect(withRetryAfter(503, "3600")).toBeLessThanOrEqual(30_000);
    expect(withRetryAfter(500, "20")).toBeLessThanOrEqual(1200); // the schedule's first step
  });
});

describe("withNoteForUnstorable", () => {
  const refusal = new Error("invalid byte sequence");
  const note = "(not stored: the database refused this attempt's record: invalid byte sequence)";

  it("replaces what came from outside with a note naming the refusal, keeping what moves the delivery on", () => {
    const failed = outcomeOf(row, post, answer({ error: "HTTP 500" }), config);
    expect(withNoteForUnstorable(failed, refusal)).toEqual({
      ...failed,
      attempt: { ...failed.attempt, request_headers: {}, request_body: null, response_headers: {}, response_body: note, response_body_encoding: "text", error: note },
      hook: { ...failed.hook, last_reason: note, last_context: null },
    });
  });

  it("keeps a success's reason, and the absence of headers or an error; a refusal that is not an Error is named as text, 500 characters at most", () => {
    const ok = outcomeOf(row, post, answer({ ok: true, status: 200, errorKind: null, error: null }), config);
    const noted = withNoteForUnstorable(ok, `22P05 ${"y".repeat(600)}`);
    expect(noted.hook.last_reason).toBe("HTTP 200");
    expect(noted.attempt).toMatchObject({ response_headers: {}, error: null });
    expect(noted.attempt!.response_body).toBe(`(not stored: the database refused this attempt's record: 22P05 ${"y".repeat(494)})`);
    const unanswered = outcomeOf(row, post, answer({ status: null, body: null, headers: {}, errorKind: "connection", error: null }), config);
    expect(withNoteForUnstorable(unanswered, refusal).attempt).toMatchObject({ response_headers: null, error: null });
  });

  it("leaves an outcome with no attempt without one", () => {
    expect(withNoteForUnstorable(cancelledOutcome(row), refusal).attempt).toBeNull();
  });
});

describe("outcomes with nothing sent", () => {
  it("cancels a paused hook's delivery and hands back a breaker-held one, neither spending an attempt", () => {
    expect(cancelledOutcome(row)).toEqual({
      delivery_id: 11,
      hook_id: 7,
      outcome: "cancelled",
      next_attempt_at: null,
      attempt: null,
      hook: { last_status: "cancelled", last_reason: "hook inactive", last_context: null, failed: null, deactivate: false },
    });
    expect(releasedOutcome(row)).toEqual({
      delivery_id: 11,
      hook_id: 7,
      outcome: "released",
      next_attempt_at: null,
      attempt: null,
      hook: { last_status: "released", last_reason: "breaker open", last_context: null, failed: null, deactivate: false },
    });
  });

  it("records a delivery that could not be signed as a failed attempt with no request, retried on the schedule", () => {
    const before = Date.now();
    const outcome = unsentOutcome({ ...row, url: "http://127.0.0.1:9/in" }, "the signing secret did not decrypt", config);
    expect(outcome).toMatchObject({
      outcome: "retry",
      attempt: { duration_ms: 0, request_headers: {}, request_body: "", response_status: null, response_headers: null, response_body: null, error_kind: "other", error: "the signing secret did not decrypt" },
      hook: { last_status: "failure", last_reason: "the signing secret did not decrypt", last_context: "" },
    });
    expect(Date.parse(outcome.attempt!.attempted_at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(outcome.attempt!.attempted_at)).toBeLessThanOrEqual(Date.now());
    expect(dueIn(outcome.next_attempt_at)).toBeLessThanOrEqual(1200);
  });
});
