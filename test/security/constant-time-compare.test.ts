import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Signatures, digests and key hashes are compared in constant time
 * (crypto.timingSafeEqual). A timing test cannot prove that on a shared
 * machine, so this guard reads the source instead: in every file that
 * computes or checks an HMAC or a signature, no `Buffer#equals`,
 * `Buffer.compare` or `===`/`!==` touches a value named like a signature,
 * digest or hash. Not a proof — a variable named `x` escapes it — so the
 * compare sites also carry a comment for reviewers. Length checks are fine:
 * lengths are public.
 */
const ROOT = join(import.meta.dirname, "../..");
const SOURCES = ["services/hookline/src", "receiver/src", "sdk/src"];
const SECRET_NAME = /signature|digest|expected|candidate|hmac|\bmac\b|hash/i;
const VARIABLE_TIME = /\.equals\(|Buffer\.compare\(|[!=]==/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === "generated" || entry === "node_modules" ? [] : sourceFiles(path);
    return /\.tsx?$/.test(entry) && !/\.test\.tsx?$/.test(entry) ? [path] : [];
  });
}

const cryptoFiles = SOURCES.flatMap((dir) => sourceFiles(join(ROOT, dir))).filter((file) => /createHmac|timingSafeEqual|webhook-signature/.test(readFileSync(file, "utf8")));

describe("constant-time comparison of signatures (source guard)", () => {
  it("finds the files that sign and verify", () => {
    const names = cryptoFiles.map((file) => relative(ROOT, file));
    expect(names).toEqual(expect.arrayContaining(["receiver/src/verify.ts", "services/hookline/src/auth/api-key.ts"]));
  });

  it("compares no signature, digest or hash with ===, !==, Buffer#equals or Buffer.compare", () => {
    const offending = cryptoFiles.flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .map((line, i) => ({ line: line.trim(), at: `${relative(ROOT, file)}:${i + 1}` }))
        .filter(({ line }) => !line.startsWith("//") && !line.startsWith("*") && VARIABLE_TIME.test(line) && SECRET_NAME.test(line) && !/\.length\s*[!=]==|[!=]==\s*\S+\.length/.test(line)),
    );
    expect(offending.map(({ at, line }) => `${at}: ${line}`), "compare these with crypto.timingSafeEqual").toEqual([]);
  });

  it("verifies with timingSafeEqual in the receiver and the API key check", () => {
    expect(readFileSync(join(ROOT, "receiver/src/verify.ts"), "utf8")).toMatch(/timingSafeEqual\(expected, candidate\)/);
    expect(readFileSync(join(ROOT, "services/hookline/src/auth/api-key.ts"), "utf8")).toMatch(/timingSafeEqual\(/);
  });
});
