import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ReceiverOptionError, WebhookVerificationError, type VerificationErrorCode } from "./errors.js";
import { sign } from "./sign.js";
import { createVerifier, readHeader, verify } from "./verify.js";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const otherSecret = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=";
const body = JSON.stringify({ id: "cd5bee71", status: "success" });
const now = () => Math.floor(Date.now() / 1000);

function signedHeaders(opts: { id?: string; timestamp?: number; body?: string; secret?: string | string[] } = {}) {
  const id = opts.id ?? "msg_123";
  const timestamp = opts.timestamp ?? now();
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": sign({ id, timestamp, body: opts.body ?? body, secret: opts.secret ?? secret }),
  };
}

function failureCode(run: () => unknown): VerificationErrorCode {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).code;
  }
  throw new Error("verification unexpectedly passed");
}

describe("verify: accepted messages", () => {
  it("accepts a message signed with the same whsec_ secret and returns its id and timestamp", () => {
    const headers = signedHeaders({ timestamp: now() - 10 });
    expect(verify({ headers, body, secret })).toEqual({ id: "msg_123", timestamp: Number(headers["webhook-timestamp"]) });
  });

  it("uses a plain secret as its UTF-8 bytes (Alauda's 123456)", () => {
    const headers = signedHeaders({ secret: "123456" });
    expect(verify({ headers, body, secret: "123456" }).id).toBe("msg_123");
    expect(verify({ headers, body, secret: "whsec_MTIzNDU2" }).id).toBe("msg_123"); // base64("123456"): same key
    // A plain secret that happens to be base64 is still used as its text, not decoded.
    const decoded = signedHeaders({ secret: "whsec_c2VjcmV0" });
    expect(failureCode(() => verify({ headers: decoded, body, secret: "c2VjcmV0" }))).toBe("no_matching_signature");
  });

  it("accepts Buffer, Uint8Array and string bodies alike", () => {
    const headers = signedHeaders();
    const verifier = createVerifier(secret);
    expect(verifier.verify({ headers, body: Buffer.from(body) }).id).toBe("msg_123");
    expect(verifier.verify({ headers, body: new TextEncoder().encode(body) }).id).toBe("msg_123");
  });

  it("reads headers from a Headers object and from records in any letter case", () => {
    const headers = signedHeaders();
    expect(verify({ headers: new Headers(headers), body, secret }).id).toBe("msg_123");
    const shouting = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verify({ headers: shouting, body, secret }).id).toBe("msg_123");
  });

  it("rotation: accepts when any of several signatures matches (sender holds old and new secret)", () => {
    const headers = signedHeaders({ secret: [otherSecret, secret] });
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(verify({ headers, body, secret }).id).toBe("msg_123");
    expect(verify({ headers, body, secret: otherSecret }).id).toBe("msg_123");
  });

  it("rotation: accepts when the receiver holds several secrets and any matches", () => {
    const headers = signedHeaders({ secret: otherSecret });
    expect(verify({ headers, body, secret: [secret, otherSecret] }).id).toBe("msg_123");
  });

  it("ignores signatures of other versions next to a good one", () => {
    const headers = signedHeaders();
    headers["webhook-signature"] = `v2,abc v1a,xyz ${headers["webhook-signature"]}`;
    expect(verify({ headers, body, secret }).id).toBe("msg_123");
  });

  it("skips a malformed v1 entry next to a good one, as the reference libraries do (the good one still has to match)", () => {
    const headers = signedHeaders();
    headers["webhook-signature"] = `v1,!!notbase64 ${headers["webhook-signature"]}`;
    expect(verify({ headers, body, secret }).id).toBe("msg_123");
    const forged = { ...signedHeaders({ secret: otherSecret }) };
    forged["webhook-signature"] = `v1,!!notbase64 ${forged["webhook-signature"]}`;
    expect(() => verify({ headers: forged, body, secret })).toThrow(/No matching signature found: skipped 1 malformed entry/);
  });
});

describe("verify: one test per failure mode", () => {
  it.each(["webhook-id", "webhook-timestamp", "webhook-signature"] as const)("missing %s → missing_headers", (name) => {
    const headers: Record<string, string> = signedHeaders();
    delete headers[name];
    expect(failureCode(() => verify({ headers, body, secret }))).toBe("missing_headers");
  });

  it("non-numeric timestamp → invalid_timestamp", () => {
    const headers = { ...signedHeaders(), "webhook-timestamp": "12:00" };
    expect(failureCode(() => verify({ headers, body, secret }))).toBe("invalid_timestamp");
  });

  it("timestamp older than the tolerance → timestamp_too_old", () => {
    const headers = signedHeaders({ timestamp: now() - 301 });
    expect(failureCode(() => verify({ headers, body, secret }))).toBe("timestamp_too_old");
  });

  it("timestamp beyond the tolerance in the future → timestamp_too_new", () => {
    const headers = signedHeaders({ timestamp: now() + 301 });
    expect(failureCode(() => verify({ headers, body, secret }))).toBe("timestamp_too_new");
  });

  it("tolerance is configurable", () => {
    const headers = signedHeaders({ timestamp: now() - 60 });
    expect(failureCode(() => verify({ headers, body, secret, toleranceSeconds: 30 }))).toBe("timestamp_too_old");
    expect(verify({ headers, body, secret, toleranceSeconds: 120 }).id).toBe("msg_123");
  });

  it("wrong secret → no_matching_signature", () => {
    const headers = signedHeaders({ secret: otherSecret });
    expect(failureCode(() => verify({ headers, body, secret }))).toBe("no_matching_signature");
  });

  it("tampered body → no_matching_signature", () => {
    const headers = signedHeaders();
    expect(failureCode(() => verify({ headers, body: body.replace("success", "failed"), secret }))).toBe(
      "no_matching_signature",
    );
  });

  it("a different webhook-id than was signed → no_matching_signature", () => {
    const headers = { ...signedHeaders(), "webhook-id": "msg_other" };
    expect(failureCode(() => verify({ headers, body, secret }))).toBe("no_matching_signature");
  });

  it("error messages say which check failed", () => {
    const headers: Record<string, string> = signedHeaders();
    delete headers["webhook-id"];
    expect(() => verify({ headers, body, secret })).toThrow("Missing required headers: webhook-id");
  });

  it("refuses an empty secret up front", () => {
    expect(() => createVerifier("whsec_")).toThrow(ReceiverOptionError);
    expect(() => createVerifier("")).toThrow(/secret: the webhook secret must not be empty/);
  });
});

describe("interop with the standardwebhooks and svix packages", () => {
  const timestamp = new Date();
  const id = "msg_interop";

  it("accepts messages signed by standardwebhooks", () => {
    const signature = new StandardWebhook(secret).sign(id, timestamp, body);
    const headers = { "webhook-id": id, "webhook-timestamp": String(Math.floor(+timestamp / 1000)), "webhook-signature": signature };
    expect(verify({ headers, body, secret }).id).toBe(id);
  });

  it("accepts messages signed by svix", () => {
    const signature = new SvixWebhook(secret).sign(id, timestamp, body);
    const headers = { "webhook-id": id, "webhook-timestamp": String(Math.floor(+timestamp / 1000)), "webhook-signature": signature };
    expect(verify({ headers, body, secret }).id).toBe(id);
  });

  it("standardwebhooks and svix verify messages signed by our sign (whsec_ secret)", () => {
    const headers = signedHeaders({ id });
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new SvixWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("standardwebhooks verifies our plain-secret signatures given the secret's UTF-8 bytes as a raw key", () => {
    const headers = signedHeaders({ id, secret: "123456" });
    const raw = new StandardWebhook(new TextEncoder().encode("123456"), { format: "raw" });
    expect(raw.verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("standardwebhooks verifies each signature of a rotation header", () => {
    const headers = signedHeaders({ id, secret: [secret, otherSecret] });
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new StandardWebhook(otherSecret).verify(body, headers)).toEqual(JSON.parse(body));
  });
});

/** Found by mutation testing (pnpm mutate --mutate receiver/src/verify.ts): each pins a detail no test looked at. */
describe("verify: details pinned by mutation testing", () => {
  afterEach(() => vi.useRealTimers());
  const message = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("unexpectedly passed");
  };

  it("checkHeaders answers the message id and timestamp", () => {
    const timestamp = now();
    expect(createVerifier(secret).checkHeaders(signedHeaders({ id: "msg_abc", timestamp }))).toEqual({ id: "msg_abc", timestamp });
  });

  it("accepts a timestamp exactly `toleranceSeconds` old, and refuses one a second older", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-30T00:00:00Z"));
    const t = Math.floor(Date.now() / 1000);
    const verifier = createVerifier(secret, { toleranceSeconds: 60 });
    expect(verifier.verify({ headers: signedHeaders({ timestamp: t - 60 }), body }).timestamp).toBe(t - 60);
    expect(failureCode(() => verifier.verify({ headers: signedHeaders({ timestamp: t - 61 }), body }))).toBe("timestamp_too_old");
  });

  it("says what is wrong in each refusal's message", () => {
    const headers = signedHeaders();
    expect(message(() => verify({ headers: { ...headers, "webhook-signature": "v1sig" }, body, secret }))).toContain('expected "<version>,<signature>"');
    expect(message(() => verify({ headers: { ...headers, "webhook-signature": "v1,short" }, body, secret }))).toContain("32-byte HMAC-SHA256");
    expect(message(() => verify({ headers: { ...headers, "webhook-signature": "v2,abc v1a,def" }, body, secret }))).toContain("(versions present: v2, v1a)");
    expect(message(() => createVerifier(secret, { toleranceSeconds: -1 }))).toContain("must be a finite number of seconds ≥ 0, got -1");
  });

  it("reads a repeated header (Node's string[]) joined by single spaces, and prefers the exact lower-case name", () => {
    expect(readHeader({ "webhook-signature": ["v1,a", "v1,b"] }, "webhook-signature")).toBe("v1,a v1,b");
    expect(readHeader({ "Webhook-Id": "other", "webhook-id": "exact" }, "webhook-id")).toBe("exact");
    expect(readHeader({ "Webhook-Id": "mixed" }, "webhook-id")).toBe("mixed");
  });
});
