import { describe, expect, it } from "vitest";
import { DATABASE_RETRY_AFTER_SECONDS, databaseErrorAsDomainError } from "./database-errors.js";

describe("databaseErrorAsDomainError", () => {
  it.each(["40P01", "40001"])("answers a transaction rolled back over a conflict (SQLSTATE %s) as unavailable, retry after 1 s", (code) => {
    const error = databaseErrorAsDomainError(Object.assign(new Error("rolled back"), { code }));
    expect(error).toMatchObject({ kind: "unavailable", retryAfterSeconds: 1 });
  });

  it("answers a lost connection as unavailable and leaves a statement error (a constraint) to the caller", () => {
    expect(databaseErrorAsDomainError(Object.assign(new Error("gone"), { code: "57P01" }))).toMatchObject({ kind: "unavailable" });
    expect(databaseErrorAsDomainError(Object.assign(new Error("dup"), { code: "23505" }))).toBeUndefined();
  });

  it.each([
    ["ENOTFOUND", "the database's host name does not resolve"],
    ["53100", "disk_full"],
    ["53200", "out_of_memory"],
    ["53400", "configuration_limit_exceeded"],
    ["53300", "too_many_connections"],
  ])("answers %s (%s) as unavailable with Retry-After, not as an internal error", (code) => {
    expect(databaseErrorAsDomainError(Object.assign(new Error(code), { code }))).toMatchObject({ kind: "unavailable", retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });
  });

  it("leaves errors about the statement's own data or text to the caller", () => {
    for (const code of ["22P05", "22003", "42601", "23503"]) expect(databaseErrorAsDomainError(Object.assign(new Error(code), { code })), code).toBeUndefined();
  });
});
