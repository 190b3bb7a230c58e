import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here the rate-limit windows (in memory, so real seconds pass; the
 * window is short): a key over its budget, and an address over its failed
 * credentials, are refused until the window ends — not before — and
 * admitted soon after; Retry-After names the window's end.
 */

const LIMIT = 3;
const FAILED_AUTH_LIMIT = 2;
const WINDOW_SECONDS = 3;
/** Slack for a loaded machine, either side of the window's end. */
const SLACK_MS = 1000;

// Limits are independent of the store: one backend (PGlite) is enough.
describe.each(testBackends().slice(0, 1))("rate-limit windows, each side ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let key: string;
  let other: string;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database, {
      HOOKLINE_RATE_LIMIT_REQUESTS: String(LIMIT),
      HOOKLINE_RATE_LIMIT_FAILED_AUTH: String(FAILED_AUTH_LIMIT),
      HOOKLINE_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    });
    key = (await server.newAccount("limited")).key;
    other = (await server.newAccount("other")).key;
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const get = async (token: string) => {
    const res = await fetch(`${server.url}/v1/hooks`, { headers: { authorization: `Bearer ${token}` } });
    await res.body?.cancel();
    return res;
  };

  /**
   * Sends `first` (which opens a window), then polls with `probe` until it is
   * admitted; answers how long after the window opened that was, and the
   * Retry-After of the first refusal.
   */
  async function refusedFor(first: () => Promise<Response>, probe: () => Promise<Response>, over: () => Promise<Response>) {
    const opened = Date.now();
    await first();
    const refusal = await over();
    expect(refusal.status).toBe(429);
    const retryAfter = Number(refusal.headers.get("retry-after"));
    for (let i = 0; i < 100; i++) {
      if ((await probe()).status !== 429) return { admittedAfter: Date.now() - opened, retryAfter };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("never admitted again");
  }

  it("a key over its budget: refused until the window ends, admitted soon after", async () => {
    // Let any window the key had run out first, so the window opens with the first request below.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const burst = () => Promise.all(Array.from({ length: LIMIT }, () => get(key))).then((all) => all[0]!);
    const { admittedAfter, retryAfter } = await refusedFor(burst, () => get(key), () => get(key));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(admittedAfter, "not admitted before the window ended").toBeGreaterThanOrEqual(WINDOW_SECONDS * 1000 - SLACK_MS);
    expect(admittedAfter, "admitted soon after the window ended").toBeLessThan(WINDOW_SECONDS * 1000 + SLACK_MS);
    expect((await get(other)).status).toBe(200);
  }, 30_000);

  it("an address over its failed credentials: locked out until the window ends, also with a good key, then let in", async () => {
    const wrong = () => Promise.all(Array.from({ length: FAILED_AUTH_LIMIT }, (_, i) => get(`wrong-${i}`))).then((all) => all[0]!);
    const { admittedAfter, retryAfter } = await refusedFor(wrong, () => get(other), () => get("wrong-again"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(admittedAfter, "not let in before the window ended").toBeGreaterThanOrEqual(WINDOW_SECONDS * 1000 - SLACK_MS);
    expect(admittedAfter, "let in soon after the window ended").toBeLessThan(WINDOW_SECONDS * 1000 + SLACK_MS);
  }, 30_000);
});
