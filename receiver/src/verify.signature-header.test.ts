import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { createReceiver } from "./dispatch.js";
import { WebhookVerificationError, type VerificationErrorCode } from "./errors.js";
import { webHmacSha256 } from "./hmac.js";
import { sign } from "./sign.js";
import { createVerifier } from "./verify.js";

/*
 * How the `webhook-signature` header is read, case by case against the
 * Standard Webhooks reference libraries (standard-webhooks/standard-webhooks
 * libraries/{javascript,python,go,rust,ruby,php,java,csharp}): they split the
 * header on single spaces, skip empty entries, entries without a comma and
 * versions other than `v1`, and compare each v1 value with the expected
 * base64 string. Every header they accept with a valid signature, we accept;
 * we refuse what would make one signature writable several ways (the
 * `malleable` rows, some of which the JS and Go libraries take). The
 * `standardwebhooks` npm package (what `svix` runs too) is asked each time,
 * so the table cannot drift from the reference.
 */

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const otherSecret = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=";
const body = '{"test": 2432232314}';
// The wrong-but-well-formed signature the references' multi-signature tests use.
const CEO5 = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
// The spec's example v1a (ed25519) signature.
const V1A = "hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";

type Message = { headers: Record<string, string>; good: string; other: string };
/** A fresh message whose signature holds "+" or "/", so that its base64url spelling differs. */
function fresh(): Message {
  const timestamp = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 500; i++) {
    const id = `msg_${i}_p5jXN8AQM9LWM0D4loKWxJek`;
    const good = sign({ id, timestamp, body, secret }).slice(3);
    if (!/[+/]/.test(good)) continue;
    const other = sign({ id, timestamp, body, secret: otherSecret }).slice(3);
    return { headers: { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${good}` }, good, other };
  }
  throw new Error("no signature with + or / in 500 tries");
}
const url = (s: string) => s.replace(/\+/g, "-").replace(/\//g, "_");
const withSignature = (m: Message, header: string) => ({ ...m.headers, "webhook-signature": header });

function theirs(headers: Record<string, string>): boolean {
  try {
    new StandardWebhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}
const verifier = createVerifier(secret);
function ours(headers: Record<string, string>): true | VerificationErrorCode {
  try {
    verifier.verify({ headers, body });
    return true;
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    return error.code;
  }
}
async function oursAsync(headers: Record<string, string>): Promise<true | VerificationErrorCode> {
  return verifier.verifyAsync({ headers, body }).then(
    () => true as const,
    (error: WebhookVerificationError) => error.code,
  );
}

const accepted: [string, (m: Message) => string][] = [
  ["two spaces between signatures (the issue's example)", (m) => `v1,${m.other}  v1,${m.good}`],
  ["three spaces between signatures", (m) => `v1,${m.good}   v1,${m.other}`],
  ["a leading space", (m) => ` v1,${m.good}`],
  ["a trailing space", (m) => `v1,${m.good} `],
  ["spaces on both sides and between", (m) => `  v1,${m.other}  v1,${m.good}  `],
  ["the references' multi-signature case (v1, v2, good, v1)", (m) => `v1,${CEO5} v2,${CEO5} v1,${m.good} v1,${CEO5}`],
  ["the spec's example shape: v1 then v1a (asymmetric)", (m) => `v1,${m.good} v1a,${V1A}`],
  ["v1a first", (m) => `v1a,${V1A} v1,${m.good}`],
  ["unknown versions v2 and v0 around it", (m) => `v2,${m.good} v1,${m.good} v0,abc`],
  ["V1 in capitals next to it (another version)", (m) => `V1,${m.other} v1,${m.good}`],
  ["an entry without a comma next to it", (m) => `junk v1,${m.good}`],
  ["an entry without a version next to it", (m) => `,${m.other} v1,${m.good}`],
  ["an empty v1 entry next to it", (m) => `v1, v1,${m.good}`],
  ["a v1 entry that is not base64 next to it", (m) => `v1,!!notbase64 v1,${m.good}`],
  ["a partial v1 entry next to it", (m) => `v1,${m.good.slice(0, 8)} v1,${m.good}`],
  ["its own base64url spelling next to it", (m) => `v1,${url(m.good)} v1,${m.good}`],
  ["a tab inside another version's entry", (m) => `v2,abc\tdef v1,${m.good}`],
  ["two field lines joined by a proxy (', '), good one second", (m) => `v1,${m.other}, v1,${m.good}`],
  ["two field lines joined by a proxy (', '), good one first", (m) => `v1,${m.good}, v1,${m.other}`],
];

const refused: [string, VerificationErrorCode, (m: Message) => string, { theirs: boolean; malleable?: true }][] = [
  // The reference libraries' own refusals.
  ["a short invalid signature (JS, PHP tests)", "invalid_signature", () => "v1,dawfeoifkpqwoekfpqoekf", { theirs: false }],
  ["just `v1,` (JS, Go, Rust tests)", "invalid_signature", () => "v1,", { theirs: false }],
  ["the first 8 characters (JS, Rust tests)", "invalid_signature", (m) => `v1,${m.good}`.slice(0, 8), { theirs: false }],
  ["a well-formed wrong signature (Go, Python, Ruby, PHP, C#)", "no_matching_signature", () => `v1,${CEO5}`, { theirs: false }],
  ["three wrong signatures (Rust test)", "no_matching_signature", (m) => `v1,${CEO5} v1,${m.other} v1,${CEO5}`, { theirs: false }],
  ["a truncated, unpadded signature (Ruby, C# tests)", "invalid_signature", () => "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLawdd", { theirs: false }],
  ["only other versions", "no_matching_signature", (m) => `v1a,${m.good} v2,${m.good}`, { theirs: false }],
  // The right signature, spelled another way: accepting any would make signatures malleable.
  ["it without its padding", "invalid_signature", (m) => `v1,${m.good.slice(0, -1)}`, { theirs: false, malleable: true }],
  ["it with an extra pad", "invalid_signature", (m) => `v1,${m.good}=`, { theirs: false, malleable: true }],
  ["it in base64url", "invalid_signature", (m) => `v1,${url(m.good)}`, { theirs: false, malleable: true }],
  ["it with junk after the padding", "invalid_signature", (m) => `v1,${m.good}junk`, { theirs: false, malleable: true }],
  ["it with a trailing NUL", "invalid_signature", (m) => `v1,${m.good}\u0000`, { theirs: false, malleable: true }],
  ["it with its spare bits set", "invalid_signature", (m) => `v1,${m.good.slice(0, 42)}${String.fromCharCode(m.good.charCodeAt(42) + 1)}=`, { theirs: false, malleable: true }],
  ["it in hex", "invalid_signature", (m) => `v1,${Buffer.from(m.good, "base64").toString("hex")}`, { theirs: false, malleable: true }],
  ["it followed by `,junk` (JS, Go, Java, C# take the second field)", "invalid_signature", (m) => `v1,${m.good},junk`, { theirs: true, malleable: true }],
  ["it followed by a lone comma", "invalid_signature", (m) => `v1,${m.good},`, { theirs: true, malleable: true }],
  ["a comma-separated list without spaces", "invalid_signature", (m) => `v1,${m.good},v1,${m.good}`, { theirs: true, malleable: true }],
  ["it followed by a tab and another entry (a tab is no separator)", "invalid_signature", (m) => `v1,${m.good}\tv1,${m.other}`, { theirs: false }],
];

describe("webhook-signature: every header the reference libraries accept", () => {
  it.each(accepted)("accepts %s (sync and async), as standardwebhooks does", async (_name, build) => {
    const m = fresh();
    const headers = withSignature(m, build(m));
    expect(theirs(headers), "standardwebhooks").toBe(true);
    expect(ours(headers)).toBe(true);
    expect(await oursAsync(headers)).toBe(true);
  });

  it("a receiver answers the issue's example (two spaces) 200, and checkHeaders passes it", async () => {
    const m = fresh();
    const headers = { ...withSignature(m, `v1,${m.other}  v1,${m.good}`), "hookline-event-type": "order.paid" };
    const answer = await createReceiver({ secret }).handle({ headers, body });
    expect(answer.status, answer.body).toBe(200);
    expect(verifier.checkHeaders(headers).id).toBe(m.headers["webhook-id"]);
  });
});

describe("webhook-signature: what is refused, and why", () => {
  it.each(refused)("refuses %s → %s", async (_name, code, build, expected) => {
    const m = fresh();
    const headers = withSignature(m, build(m));
    expect(theirs(headers), "standardwebhooks").toBe(expected.theirs);
    expect(ours(headers)).toBe(code);
    expect(await oursAsync(headers)).toBe(code);
  });

  it("the malleable spellings all decode, leniently, to the right digest: only strict parsing keeps them out", () => {
    const m = fresh();
    const digest = Buffer.from(m.good, "base64");
    for (const [, , build, { malleable }] of refused) {
      if (!malleable) continue;
      const value = build(m).slice(3);
      if (/^[0-9a-f]{64}$/.test(value)) expect(Buffer.from(value, "hex").equals(digest)).toBe(true);
      else expect(Buffer.from(value.split(",")[0]!.replace(/\0/g, ""), "base64").equals(digest)).toBe(true);
    }
  });
});

describe("webhook-signature: random headers, ours against standardwebhooks", () => {
  it("agree on 400 headers mixed from good, wrong, other-version, empty and malformed entries and 1–3 spaces", () => {
    const m = fresh();
    const pool = [`v1,${m.good}`, `v1,${m.other}`, `v1,${CEO5}`, `v1a,${V1A}`, `v2,${m.good}`, "v1,", "v1,!!", "junk", `,${m.good}`, `V1,${m.good}`];
    let seed = 25;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 400; i++) {
      const entries = Array.from({ length: 1 + random(4) }, () => pool[random(pool.length)]!);
      const header = entries.map((entry) => entry + " ".repeat(1 + random(3))).join("").slice(0, random(2) ? undefined : -1);
      const headers = withSignature(m, ` `.repeat(random(2)) + header);
      expect(ours(headers) === true, JSON.stringify(header)).toBe(theirs(headers));
    }
  });
});

describe("HMAC on Web Crypto (the edge path) equals node:crypto", () => {
  it.each([
    ["a string body", body],
    ["an empty body", ""],
    ["a binary body", new Uint8Array([0, 255, 10, 13, 0x80])],
    ["a 1 MiB body", "x".repeat(1024 * 1024)],
  ])("for %s, twice with one key (the imported key is reused)", async (_name, raw) => {
    const key = new Uint8Array(32).fill(7);
    const expected = createHmac("sha256", key).update("msg_1.1700000000.").update(raw).digest();
    expect(Buffer.from(await webHmacSha256(key, "msg_1.1700000000.", raw)).equals(expected)).toBe(true);
    expect(Buffer.from(await webHmacSha256(key, "msg_1.1700000000.", raw)).equals(expected)).toBe(true);
  });
});
