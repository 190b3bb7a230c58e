import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { createReceiver } from "./dispatch.js";
import { ReceiverOptionError, WebhookVerificationError, type VerificationErrorCode } from "./errors.js";
import { sign } from "./sign.js";
import { createVerifier, verify } from "./verify.js";

/*
 * The kinds of case the Standard Webhooks reference libraries test (JS,
 * Python, Go, Rust, Java, PHP: valid messages, missing headers, bad, old and
 * new timestamps, wrong, partial and multiple signatures, other versions,
 * secrets with and without `whsec_`, invalid base64 secrets, the known signing
 * vector), re-expressed as our own tables. Where we are stricter than those
 * libraries (a signature must be exact padded base64; options are checked at
 * construction) the case says so. One difference is deliberate: a secret
 * without `whsec_` is used as its UTF-8 bytes (Hookline's plain secrets, e.g.
 * Alauda's "123456"), where the references base64-decode it.
 */

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const otherSecret = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=";
const body = '{"test": 2432232314}';
const now = () => Math.floor(Date.now() / 1000);

type Headers = Record<string, string>;
function message(opts: { id?: string; timestamp?: number; secret?: string | string[]; signedBody?: string } = {}): Headers {
  const id = opts.id ?? "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const timestamp = opts.timestamp ?? now();
  const signature = sign({ id, timestamp, body: opts.signedBody ?? body, secret: opts.secret ?? secret });
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signature };
}
const signatureOf = (headers: Headers) => headers["webhook-signature"]!.slice(3);

function failure(run: () => unknown): { code: VerificationErrorCode; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return { code: (error as WebhookVerificationError).code, message: (error as Error).message };
  }
  throw new Error("verification unexpectedly passed");
}
const codeOf = (headers: Headers, options: { body?: string; secret?: string | string[] } = {}) =>
  failure(() => verify({ headers, body: options.body ?? body, secret: options.secret ?? secret })).code;

describe("reference cases: the signing vector", () => {
  it("signs the references' known message to their known signature", () => {
    const signature = sign({ id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body, secret });
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    expect(sign({ id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: new Date(1614265330_000), body, secret })).toBe(signature);
  });

  it("agrees with the standardwebhooks package on a fresh message, both ways", () => {
    const headers = message();
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    const theirs = new StandardWebhook(secret).sign("msg_theirs", new Date(), body);
    const h = { "webhook-id": "msg_theirs", "webhook-timestamp": String(now()), "webhook-signature": theirs };
    expect(verify({ headers: h, body, secret }).id).toBe("msg_theirs");
  });
});

describe("reference cases: valid messages", () => {
  it.each([
    ["a whsec_ secret", secret],
    ["a whsec_ secret with padding", otherSecret],
    ["a plain secret (its UTF-8 bytes)", "123456"],
    ["a plain secret that looks like base64 (still its UTF-8 bytes)", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
  ])("verifies with %s", (_name, key) => {
    expect(verify({ headers: message({ secret: key }), body, secret: key }).id).toBe("msg_p5jXN8AQM9LWM0D4loKWxJek");
  });

  it.each([
    ["string", body],
    ["Buffer", Buffer.from(body)],
    ["Uint8Array", new TextEncoder().encode(body)],
  ])("verifies a %s body", (_name, raw) => {
    expect(verify({ headers: message(), body: raw, secret }).id).toBe("msg_p5jXN8AQM9LWM0D4loKWxJek");
  });

  it.each([
    ["a fetch Headers", (h: Headers) => new Headers(h)],
    ["an upper-case record", (h: Headers) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toUpperCase(), v]))],
    ["a record with array values", (h: Headers) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [v]]))],
  ])("reads headers from %s", (_name, shape) => {
    expect(verify({ headers: shape(message()), body, secret }).id).toBe("msg_p5jXN8AQM9LWM0D4loKWxJek");
  });

  it.each([
    ["first of three", (good: string) => `${good} v1,${signatureOf(message({ secret: otherSecret }))} v2,abc`],
    ["last of three", (good: string) => `v1,${signatureOf(message({ secret: otherSecret }))} v1a,abc ${good}`],
    ["after other versions", (good: string) => `v1a,${good.slice(3)} v2,${good.slice(3)} ${good}`],
  ])("accepts the matching signature %s", (_name, build) => {
    const headers = message();
    headers["webhook-signature"] = build(headers["webhook-signature"]!);
    expect(verify({ headers, body, secret }).id).toBe("msg_p5jXN8AQM9LWM0D4loKWxJek");
  });

  it.each([
    ["the sender signs with two secrets, the receiver holds one", [secret, otherSecret], secret],
    ["the receiver holds two secrets, the sender signs with one", otherSecret, [secret, otherSecret]],
  ])("rotation: %s", (_name, sent, held) => {
    expect(verify({ headers: message({ secret: sent }), body, secret: held }).id).toBe("msg_p5jXN8AQM9LWM0D4loKWxJek");
  });

  it.each([-300, 300, -10, 10])("accepts a timestamp %i s from now (within the default 5 minutes)", (offset) => {
    // A boundary case can cross a second while the test runs; ±300 stays inside because now() only grows.
    const timestamp = now() + offset + (offset === -300 ? 1 : 0);
    expect(verify({ headers: message({ timestamp }), body, secret }).timestamp).toBe(timestamp);
  });
});

describe("reference cases: missing headers", () => {
  it.each([["webhook-id"], ["webhook-timestamp"], ["webhook-signature"]])("without %s → missing_headers naming it", (name) => {
    const headers = message();
    delete headers[name];
    const { code, message: text } = failure(() => verify({ headers, body, secret }));
    expect(code).toBe("missing_headers");
    expect(text).toBe(`Missing required headers: ${name}`);
  });

  it.each([["webhook-id"], ["webhook-timestamp"], ["webhook-signature"]])("with an empty %s → missing_headers", (name) => {
    expect(codeOf({ ...message(), [name]: "" })).toBe("missing_headers");
  });

  it("with no headers at all → missing_headers naming all three", () => {
    expect(failure(() => verify({ headers: {}, body, secret })).message).toBe(
      "Missing required headers: webhook-id, webhook-timestamp, webhook-signature",
    );
  });

  it("svix-branded headers alone are not Standard Webhooks headers → missing_headers", () => {
    const h = message();
    const svix = { "svix-id": h["webhook-id"]!, "svix-timestamp": h["webhook-timestamp"]!, "svix-signature": h["webhook-signature"]! };
    expect(codeOf(svix)).toBe("missing_headers");
  });
});

describe("reference cases: timestamps", () => {
  it.each([
    "abc",
    "12:00",
    "",
    "+1700000000",
    "-1700000000",
    "1700000000.5",
    "1.7e9",
    "0x6553f100",
    "١٧٠٠٠٠٠٠٠٠",
    "1700000000\u00a0",
    "17000 00000",
    "2026-11-30T00:00:00Z",
    "1234567890123456",
  ])("refuses %j → invalid_timestamp (digits only)", (value) => {
    const headers = { ...message(), "webhook-timestamp": value };
    expect(codeOf(headers)).toBe(value === "" ? "missing_headers" : "invalid_timestamp");
  });

  it.each([301, 3600, 86_400 * 365])("refuses a timestamp %i s old → timestamp_too_old", (age) => {
    expect(codeOf(message({ timestamp: now() - age }))).toBe("timestamp_too_old");
  });

  it("refuses timestamp 0 → timestamp_too_old", () => {
    expect(codeOf(message({ timestamp: 0 }))).toBe("timestamp_too_old");
  });

  it.each([302, 3600, 86_400 * 365])("refuses a timestamp %i s ahead → timestamp_too_new", (ahead) => {
    expect(codeOf(message({ timestamp: now() + ahead }))).toBe("timestamp_too_new");
  });

  it("honours toleranceSeconds both ways, and 0 means the current second only", () => {
    const old = message({ timestamp: now() - 60 });
    expect(failure(() => verify({ headers: old, body, secret, toleranceSeconds: 30 })).code).toBe("timestamp_too_old");
    expect(verify({ headers: old, body, secret, toleranceSeconds: 120 }).id).toBeTruthy();
    expect(failure(() => verify({ headers: message({ timestamp: now() - 1 }), body, secret, toleranceSeconds: 0 })).code).toBe(
      "timestamp_too_old",
    );
  });

  it("a timestamp written differently from what was signed (leading zero) → no_matching_signature", () => {
    const headers = message();
    headers["webhook-timestamp"] = `0${headers["webhook-timestamp"]}`;
    expect(codeOf(headers)).toBe("no_matching_signature");
  });
});

describe("reference cases: what HTTP does not count as part of a header (RFC 9110 §5.5)", () => {
  it.each([
    ["a space before the timestamp", (h: Headers) => ({ ...h, "webhook-timestamp": ` ${h["webhook-timestamp"]}` })],
    ["a tab after the timestamp", (h: Headers) => ({ ...h, "webhook-timestamp": `${h["webhook-timestamp"]}\t` })],
    ["spaces around the webhook-id", (h: Headers) => ({ ...h, "webhook-id": `  ${h["webhook-id"]} ` })],
    ["a tab and a space around the signature header", (h: Headers) => ({ ...h, "webhook-signature": `\t${h["webhook-signature"]} ` })],
  ])("accepts %s, as a server that parsed the header would hand it over", (_name, pad) => {
    expect(verify({ headers: pad(message()), body, secret }).id).toBe("msg_p5jXN8AQM9LWM0D4loKWxJek");
  });

  it("a receiver reads hookline-event-type the same way", async () => {
    const types: string[] = [];
    const receiver = createReceiver({ secret }).on("order.paid", (e) => void types.push(e.type));
    const answer = await receiver.handle({ headers: { ...message(), "hookline-event-type": " order.paid\t" }, body });
    expect(answer.status, answer.body).toBe(200);
    expect(types).toEqual(["order.paid"]);
  });

  it("a header of whitespace only is missing", () => {
    expect(codeOf({ ...message(), "webhook-signature": " \t " })).toBe("missing_headers");
  });
});

describe("reference cases: webhook-id (Standard Webhooks: it must not contain a full stop)", () => {
  it("refuses an id with a '.' → invalid_id: otherwise `id.timestamp.body` could be split another way", () => {
    // A genuine message (id "msg", sent at t1, a body that happens to start "<t2>.") re-split by an attacker as
    // id "msg.<t1>" at t2 with another body: the same signed bytes, so the same signature.
    const [t1, t2] = [now() - 60, now()];
    const genuine = message({ id: "msg", timestamp: t1, signedBody: `${t2}.${body}` });
    expect(verify({ headers: genuine, body: `${t2}.${body}`, secret }).id).toBe("msg");
    const resplit = { "webhook-id": `msg.${t1}`, "webhook-timestamp": String(t2), "webhook-signature": genuine["webhook-signature"]! };
    expect(new StandardWebhook(secret).verify(body, resplit)).toEqual(JSON.parse(body)); // the reference library takes it
    expect(codeOf(resplit)).toBe("invalid_id");
  });

  it.each(["msg_p5jXN8AQM9LWM0D4loKWxJek", "01HZX3Y6R8Q9", "evt-2026-12-05", "a", "msg_with,comma"])("accepts the id %j", (id) => {
    expect(verify({ headers: message({ id }), body, secret }).id).toBe(id);
  });
});

describe("reference cases: secrets and options, checked at construction", () => {
  it.each([
    ["whsec_ with nothing after it", "whsec_"],
    ["whsec_ followed by junk", "whsec_!!!not-base64!!!"],
    ["whsec_ followed by base64url", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-_w=="],
    ["whsec_ without padding", "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk"],
    ["whsec_ with junk after the padding", "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=x"],
    ["whsec_ with a space inside", "whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw"],
    ["whsec_ with a length not a multiple of 4", "whsec_abc"],
    ["an empty string", ""],
  ])("refuses %s with a ReceiverOptionError naming `secret`", (_name, bad) => {
    expect(() => createVerifier(bad)).toThrow(ReceiverOptionError);
    expect(() => createVerifier(bad)).toThrow(/^secret: /);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a number", 123456],
  ])("refuses a secret that is %s, saying what it got", (name, bad) => {
    expect(() => createVerifier(bad as unknown as string)).toThrow(new RegExp(`^secret: .*${name === "a number" ? "number" : name}`));
  });

  it("refuses an empty list of secrets, and names the bad entry of a list", () => {
    expect(() => createVerifier([])).toThrow(/^secret: at least one/);
    expect(() => createVerifier([secret, "whsec_%%%"])).toThrow(/^secret\[1\]: /);
  });

  it.each([
    ["NaN (Number(process.env.UNSET))", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["negative", -1],
    ["a string", "300"],
  ])("refuses toleranceSeconds %s", (_name, bad) => {
    const error = (() => {
      try {
        createVerifier(secret, { toleranceSeconds: bad as number });
      } catch (e) {
        return e as ReceiverOptionError;
      }
    })();
    expect(error).toBeInstanceOf(ReceiverOptionError);
    expect(error?.option).toBe("toleranceSeconds");
  });

  it("createReceiver names a missing secret, a missing options object and a bad maxBodyBytes", () => {
    expect(() => createReceiver({} as never)).toThrow(/^secret: .*undefined \(is the environment variable set\?\)/);
    expect(() => createReceiver(undefined as never)).toThrow(/^options: /);
    expect(() => createReceiver({ secret, maxBodyBytes: 0 })).toThrow(/^maxBodyBytes: /);
  });
});
