import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, createLogger, loadConfig, startHookline } from "@hookline/server";
import { TEST_ADMIN_TOKEN } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * The main key's life cycle in embedded mode (one PGlite data folder, opened
 * by one process at a time): made on first start, owner-only; a wrong key
 * refuses to start, naming the setting; PostgreSQL without a key: `loadConfig` refuses it.
 */
describe("the main key", () => {
  let dataDir: string;
  const env = (extra: Record<string, string> = {}) =>
    loadConfig({ PORT: "0", HOOKLINE_DATA_DIR: dataDir, HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, HOOKLINE_ROLE: "api", LOG_LEVEL: "silent", ...extra });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "hookline-main-key-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("is made in the data folder (0600) on first start; a wrong key refuses to start naming HOOKLINE_MAIN_SECRET", async () => {
    const first = await startHookline(env(), createLogger("silent"));
    let secret: string;
    let hookId: number;
    try {
      const admin = specClient(first.url!, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
      const account = await admin.call("POST", "/v1/accounts", { body: { name: "k" } });
      const key = await admin.call("POST", `/v1/accounts/${account.body.id}/keys`, { body: { name: "k" } });
      const api = specClient(first.url!, { authorization: `Bearer ${key.body.key}` });
      const hook = await api.call("POST", "/v1/hooks", { body: { url: "https://example.com/hook", events: ["*"] } });
      secret = hook.body.secret;
      hookId = hook.body.id;
    } finally {
      await first.stop();
    }
    const keyFile = join(dataDir, "hookline-main-secret");
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const { readFile } = await import("node:fs/promises");
    const fileKey = (await readFile(keyFile, "utf8")).trim();

    const wrong = randomBytes(32).toString("base64");
    const refused = await startHookline(env({ HOOKLINE_MAIN_SECRET: wrong }), createLogger("silent")).then(
      (h) => h.stop().then(() => undefined),
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/HOOKLINE_MAIN_SECRET does not open hook \d+'s signing secret \(encrypted under main key [0-9a-f]{8}\)/);

    // The stored value is sealed under the file's key (the old key as
    // HOOKLINE_MAIN_SECRET_PREVIOUS is proven in secrets-at-rest.test.ts).
    expect(refused instanceof Error && refused.message).not.toContain(secret.slice(6));
    expect(hookId).toBeGreaterThan(0);
    expect(fileKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  }, 240_000); // two opens of a new PGlite data folder: seconds when quiet, a minute each on a loaded machine

  it("PostgreSQL mode without a key is a configuration error naming HOOKLINE_MAIN_SECRET", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgres://127.0.0.1/x" })).toThrow(/HOOKLINE_MAIN_SECRET is required with DATABASE_URL/);
    expect(() => loadConfig({ HOOKLINE_MAIN_SECRET: "c2hvcnQ=" })).toThrow(/HOOKLINE_MAIN_SECRET must be 32 random bytes/);
  });
});
