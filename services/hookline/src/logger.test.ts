import { PGlite } from "@electric-sql/pglite";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

/** A logger whose lines are kept, as a log collector would keep them. */
function collected() {
  const lines: string[] = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
  return { logger, text: () => lines.join("") };
}

// Credentials never reach the log stream, whatever object is logged beside them.
describe("the logger keeps credentials out of the log", () => {
  it("redacts tokens, keys, passwords and credential headers by name", () => {
    const { logger, text } = collected();
    const values = ["tok-1", "tok-2", "hkl_key3", "pw-4", "csrf-5", "cookie-6", "apikey-7", "setcookie-8"];
    logger.info({ token: "tok-1", owner: { admin_token: "tok-2" }, api_key: "hkl_key3", password: "pw-4", session: { csrf_token: "csrf-5" } }, "a");
    logger.info({ headers: { cookie: "cookie-6", "x-api-key": "apikey-7", "set-cookie": "setcookie-8" } }, "b");
    for (const value of values) expect(text()).not.toContain(value);
    expect(text()).toContain("[redacted]");
  });

  it("logs a database error's message without the statement's values (a new key on its way into the store)", async () => {
    const db = new PGlite();
    const error = await db.query("insert into no_such_table values ($1)", ["hkl_LiveKeyInTheValues"]).catch((e: unknown) => e);
    await db.close();
    expect((error as { params?: unknown }).params).toEqual(["hkl_LiveKeyInTheValues"]);
    const { logger, text } = collected();
    logger.warn({ err: error }, "could not store the answer of an idempotent request");
    expect(text()).toContain("no_such_table");
    expect(text()).not.toContain("hkl_LiveKeyInTheValues");
  });
});
