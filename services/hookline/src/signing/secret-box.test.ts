import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { Config } from "../config.js";
import { resolveSecretBox, MAIN_KEY_FILE } from "./main-key.js";
import { cachedOpener, createSecretBox, ephemeralSecretBox, isSealed, mainKeyOf, SealedValueError, sealedKeyId, SecretDecryptionError } from "./secret-box.js";
import { generateSigningSecret, secretProblem, signingKeyOf } from "./secret.js";

// Unit tests for the signing secrets at rest; the end-to-end checks (no clear
// secret in the database, key rotation mid-traffic) are test/security/secrets-at-rest.test.ts.

const key = Buffer.alloc(32, 1);
const otherKey = Buffer.alloc(32, 2);

describe("createSecretBox", () => {
  it("seals as hlenc:v1:<key id>:<base64>, with a fresh nonce each time, and opens it again", () => {
    const box = createSecretBox(key);
    const a = box.seal(7, "whsec_abc");
    const b = box.seal(7, "whsec_abc");
    expect(a).toMatch(new RegExp(`^hlenc:v1:${mainKeyOf(key).id}:[A-Za-z0-9+/]+=*$`));
    expect(a).not.toBe(b);
    expect(Buffer.from(a.split(":")[3]!, "base64")).toHaveLength(12 + "whsec_abc".length + 16);
    expect([box.open(7, a), box.open(7, b)]).toEqual(["whsec_abc", "whsec_abc"]);
    expect(box.current).toEqual(mainKeyOf(key));
    expect(box.keys).toEqual([mainKeyOf(key)]);
  });

  it("key ids are 8 hex digits of SHA-256 of the key", () => {
    expect(mainKeyOf(Buffer.from("k"))).toEqual({ id: "8254c329", key: Buffer.from("k") });
    expect(sealedKeyId("hlenc:v1:0badf00d:xyz")).toBe("0badf00d");
    expect(sealedKeyId("whsec_x")).toBeUndefined();
    expect([isSealed("hlenc:v1:a:b"), isSealed("xhlenc:v1:a:b")]).toEqual([true, false]);
  });

  it("refuses clear text, an unknown key, another hook's value, a tampered or truncated one, each saying why", () => {
    const box = createSecretBox(key);
    const sealed = box.seal(7, "s");
    const raw = Buffer.from(sealed.split(":")[3]!, "base64");
    raw[12] = raw[12]! ^ 1;
    const tampered = `${sealed.split(":").slice(0, 3).join(":")}:${raw.toString("base64")}`;
    const truncated = `${sealed.split(":").slice(0, 3).join(":")}:${raw.subarray(0, 27).toString("base64")}`;
    const why = (hookId: number, stored: string, on = box) => {
      try {
        on.open(hookId, stored);
      } catch (error) {
        expect(error).toBeInstanceOf(SecretDecryptionError);
        expect((error as SecretDecryptionError).name).toBe("SecretDecryptionError");
        expect((error as SecretDecryptionError).hookId).toBe(hookId);
        return (error as Error).message;
      }
      return "opened";
    };
    expect(why(7, "whsec_clear")).toBe("the signing secret of hook 7 could not be decrypted: it is stored in clear (start the server with a main key once to encrypt it)");
    expect(why(7, sealed, createSecretBox(otherKey))).toBe(`the signing secret of hook 7 could not be decrypted: sealed under main key ${mainKeyOf(key).id}, which is not configured`);
    expect(why(8, sealed)).toMatch(/hook 8 could not be decrypted: the authentication tag does not match \(tampered, or moved from another hook\)$/);
    expect(why(7, tampered)).toMatch(/the authentication tag does not match/);
    expect(why(7, truncated)).toMatch(/: the value is truncated$/);
    // 28 bytes (nonce + tag, empty secret) is the shortest value that opens.
    expect(box.open(7, box.seal(7, ""))).toBe("");
  });

  it("opens with a previous key and reseals to the current one; the current key's value stays as is", () => {
    const old = createSecretBox(otherKey);
    const box = createSecretBox(key, [otherKey]);
    expect(box.keys.map((k) => k.id)).toEqual([mainKeyOf(key).id, mainKeyOf(otherKey).id]);
    const oldValue = old.seal(3, "s3");
    const resealed = box.reseal(3, oldValue);
    expect(sealedKeyId(resealed)).toBe(mainKeyOf(key).id);
    expect(box.open(3, resealed)).toBe("s3");
    expect(box.reseal(3, resealed)).toBe(resealed);
    const fromClear = box.reseal(3, "whsec_clear");
    expect(sealedKeyId(fromClear)).toBe(mainKeyOf(key).id);
    expect(box.open(3, fromClear)).toBe("whsec_clear");
  });

  it("ephemeralSecretBox has a random 32-byte key", () => {
    const [a, b] = [ephemeralSecretBox(), ephemeralSecretBox()];
    expect(a.current.key).toHaveLength(32);
    expect(a.current.id).not.toBe(b.current.id);
  });
});

describe("sealValue / openValue (other values at rest that may carry a credential)", () => {
  it("seals under the current key bound to its context, opens with a listed previous key, and says why a value does not open", () => {
    const old = createSecretBox(otherKey);
    const box = createSecretBox(key, [otherKey]);
    const sealed = box.sealValue("idempotency:a:k1", '{"secret":"whsec_x"}');
    expect(sealedKeyId(sealed)).toBe(mainKeyOf(key).id);
    expect(sealed).not.toContain("whsec_x");
    expect(box.openValue("idempotency:a:k1", sealed)).toBe('{"secret":"whsec_x"}');
    expect(box.openValue("c", old.sealValue("c", "v"))).toBe("v");
    // A hook secret and a value never open as each other: their associated data differ.
    expect(() => box.openValue("7", box.seal(7, "s"))).toThrow(SealedValueError);
    expect(() => box.open(7, box.sealValue("7", "s"))).toThrow(SecretDecryptionError);
    const why = (context: string, stored: string, on = box) => {
      try {
        on.openValue(context, stored);
      } catch (error) {
        expect(error).toBeInstanceOf(SealedValueError);
        expect((error as Error).name).toBe("SealedValueError");
        return (error as Error).message;
      }
      return "opened";
    };
    expect(why("idempotency:a:k2", sealed)).toBe("the sealed value of idempotency:a:k2 could not be opened: the authentication tag does not match (tampered, or moved from another row)");
    expect(why("c", "clear")).toBe("the sealed value of c could not be opened: it is stored in clear (start the server with a main key once to encrypt it)");
    expect(why("c", sealed, old)).toBe(`the sealed value of c could not be opened: sealed under main key ${mainKeyOf(key).id}, which is not configured`);
  });
});

describe("cachedOpener", () => {
  it("opens once per stored value, and at max entries drops the oldest", () => {
    const box = createSecretBox(key);
    let opens = 0;
    const counting = { ...box, open: (hookId: number, stored: string) => (opens++, box.open(hookId, stored)) };
    const open = cachedOpener(counting, 2);
    const [s1, s2, s3] = [box.seal(1, "a"), box.seal(2, "b"), box.seal(3, "c")];
    expect([open(1, s1), open(1, s1), open(2, s2)]).toEqual(["a", "a", "b"]);
    expect(opens).toBe(2);
    open(3, s3); // evicts s1
    open(2, s2);
    expect(opens).toBe(3);
    open(1, s1);
    expect(opens).toBe(4);
    expect(() => open(9, s1)).toThrow(SecretDecryptionError);
  });
});

describe("signing secrets", () => {
  it("generates whsec_ + base64 of 32 bytes, and derives the HMAC key from it", () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(signingKeyOf(secret)).toHaveLength(32);
    expect(signingKeyOf("123456")).toEqual(Buffer.from("123456", "utf8"));
  });

  it("secretProblem: whsec_ needs standard, padded base64 of at least 16 bytes; other secrets are fine", () => {
    expect(secretProblem("123456")).toBeUndefined();
    expect(secretProblem(`whsec_${randomBytes(16).toString("base64")}`)).toBeUndefined();
    const junkFirst = `whsec_----${randomBytes(16).toString("base64")}`; // Node's decoder would take "-" (base64url)
    for (const bad of ["whsec_", "whsec_ab-_", "whsec_abc", "whsec_YWJj=x", "whsec_YWJj===", junkFirst]) {
      expect(secretProblem(bad), bad).toBe("a whsec_ secret must be followed by standard base64");
    }
    expect(secretProblem(`whsec_${randomBytes(15).toString("base64")}`)).toBe("a whsec_ secret must encode at least 16 bytes");
  });
});

describe("resolveSecretBox", () => {
  const logged: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => void logged.push(line) });
  const config = (over: Partial<Config>) => ({ mainSecret: undefined, mainSecretPrevious: [], databaseUrl: undefined, dataDir: "memory://x", ...over }) as Config;

  it("uses a configured key, refuses PostgreSQL without one, and gives memory:// a random key", async () => {
    expect((await resolveSecretBox(config({ mainSecret: key, mainSecretPrevious: [otherKey] }), logger)).keys.map((k) => k.id)).toEqual([mainKeyOf(key).id, mainKeyOf(otherKey).id]);
    await expect(resolveSecretBox(config({ databaseUrl: "postgres://x" }), logger)).rejects.toThrow(/HOOKLINE_MAIN_SECRET: required with DATABASE_URL/);
    const [a, b] = [await resolveSecretBox(config({}), logger), await resolveSecretBox(config({}), logger)];
    expect(a.current.key).toHaveLength(32);
    expect(a.current.id, "memory:// keeps no key file: every box is new").not.toBe(b.current.id);
  });

  it("creates an owner-only key file on first start (in a new folder), reads it later, and refuses a bad one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hookline-main-key-"));
    try {
      const dataDir = join(dir, "data", "nested");
      const first = await resolveSecretBox(config({ dataDir }), logger);
      const file = join(dataDir, MAIN_KEY_FILE);
      expect(logged.map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ file, msg: expect.stringMatching(/^created a main key for signing secrets; back it up/) })]);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(Buffer.from((await readFile(file, "utf8")).trim(), "base64")).toEqual(first.current.key);
      expect((await resolveSecretBox(config({ dataDir }), logger)).current.id).toBe(first.current.id);
      await writeFile(file, Buffer.alloc(16).toString("base64"));
      await expect(resolveSecretBox(config({ dataDir }), logger)).rejects.toThrow(`the key file ${file} does not hold 32 bytes of base64`);
      // Unreadable for another reason than absence: the error, never a new key.
      await rm(file);
      await mkdir(file);
      await expect(resolveSecretBox(config({ dataDir }), logger)).rejects.toMatchObject({ code: "EISDIR" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
