import { describe, expect, it } from "vitest";
import { databaseErrorAsDomainError } from "./database-errors.js";

describe("databaseErrorAsDomainError", () => {
  it.each(["40P01", "40001"])("answers a transaction rolled back over a conflict (SQLSTATE %s) as unavailable, retry after 1 s", (code) => {
    const error = databaseErrorAsDomainError(Object.assign(new Error("rolled back"), { code }));
    expect(error).toMatchObject({ kind: "unavailable", retryAfterSeconds: 1 });
  });

  it("answers a lost connection as unavailable and leaves a statement error (a constraint) to the caller", () => {
    expect(databaseErrorAsDomainError(Object.assign(new Error("gone"), { code: "57P01" }))).toMatchObject({ kind: "unavailable" });
    expect(databaseErrorAsDomainError(Object.assign(new Error("dup"), { code: "23505" }))).toBeUndefined();
  });
});
