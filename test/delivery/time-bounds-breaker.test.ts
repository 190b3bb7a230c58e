import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here a failing hook's: the open breaker's probe delay (the
 * configured interval, growing to a tenth of how long the hook has failed,
 * capped at five minutes) and auto-disable after HOOKLINE_AUTO_DISABLE_SECONDS
 * of failing (just inside: still enabled; just past: disabled). How long the
 * hook has failed is set with SQL before its one failing attempt.
 */

const THRESHOLD = 10;
const PROBE_INTERVAL_MS = 1000;
const AUTO_DISABLE_SECONDS = 3600;
/** store/record-outcomes.ts: MAX_PROBE_INTERVAL_MS. */
const MAX_PROBE_SECONDS = 300;

describe.each(testBackends())("breaker and auto-disable time bounds, each side ($kind)", (backend) => {
  let stack: DeliveryStack;
  let n = 0;

  beforeAll(async () => {
    stack = await startDeliveryStack(
      backend,
      {
        ...FAST_DELIVERY_ENV,
        HOOKLINE_BREAKER_THRESHOLD: String(THRESHOLD),
        HOOKLINE_BREAKER_PROBE_INTERVAL_MS: String(PROBE_INTERVAL_MS),
        HOOKLINE_AUTO_DISABLE_SECONDS: String(AUTO_DISABLE_SECONDS),
      },
      (_request, res) => void res.writeHead(500).end(),
    );
  });
  afterAll(() => stack?.close());

  const db = () => stack.database.store.db;

  /**
   * A hook failing for `failingFor` seconds with `failures` consecutive
   * failures so far, then one more failed attempt (retries 0: the delivery
   * fails at once). Answers the hook as the API shows it and the probe delay
   * the attempt set: not_before less the attempt's start, in seconds.
   */
  async function oneMoreFailure(failingFor: number, failures: number) {
    const type = `breaker.t${++n}`;
    const created = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/failing-${n}`, events: [type], retries: 0 } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await sql`update hooks set not_before = 'infinity', consecutive_failures = ${failures},
                failing_since = now() - make_interval(secs => ${failingFor}) where id = ${id}`.execute(db());
    const event = await stack.api.call("POST", "/v1/events", { body: { type, data: {} } });
    const deliveryId = (await stack.api.call("GET", `/v1/events/${event.body.id}`)).body.deliveries[0].id;
    await sql`update hooks set not_before = null where id = ${id}`.execute(db());
    await eventually(async () => ((await stack.api.call("GET", `/v1/deliveries/${deliveryId}`)).body.status === "failed" ? true : undefined), 10_000, "the attempt recorded");
    const row = (await sql<{ delay: number | null }>`select extract(epoch from not_before - last_datetime) as delay from hooks where id = ${id}`.execute(db())).rows[0]!;
    const hook = (await stack.api.call("GET", `/v1/hooks/${id}`)).body;
    return { hook, probeDelay: row.delay === null ? null : Number(row.delay) };
  }

  describe("the open breaker's probe delay", () => {
    it("stays closed one failure below the threshold: no delay", async () => {
      const { hook, probeDelay } = await oneMoreFailure(100, THRESHOLD - 2);
      expect(hook.consecutive_failures).toBe(THRESHOLD - 1);
      expect(probeDelay).toBeNull();
    });

    it("just opened by a hook failing for moments: the configured interval", async () => {
      const { hook, probeDelay } = await oneMoreFailure(0, THRESHOLD - 1);
      expect(hook.consecutive_failures).toBe(THRESHOLD);
      expect(probeDelay).toBeGreaterThanOrEqual(PROBE_INTERVAL_MS / 1000);
      // Measured from the attempt's start: the outcome is recorded a little later (more on a loaded machine).
      expect(probeDelay).toBeLessThan(PROBE_INTERVAL_MS / 1000 + 3);
    });

    it("a hook failing for 100 s: a tenth of that, 10 s", async () => {
      const { probeDelay } = await oneMoreFailure(100, THRESHOLD - 1);
      expect(probeDelay).toBeGreaterThanOrEqual(10);
      expect(probeDelay).toBeLessThan(12.5);
    });

    it("a hook failing for days: capped at five minutes", async () => {
      const { probeDelay } = await oneMoreFailure(10 * 24 * 3600, THRESHOLD - 1);
      expect(probeDelay).toBeGreaterThanOrEqual(MAX_PROBE_SECONDS);
      expect(probeDelay).toBeLessThan(MAX_PROBE_SECONDS + 3);
    });
  });

  describe("auto-disable after HOOKLINE_AUTO_DISABLE_SECONDS of failing", () => {
    it("just inside the period: a failure leaves the hook enabled", async () => {
      const { hook } = await oneMoreFailure(AUTO_DISABLE_SECONDS - 30, 0);
      expect(hook).toMatchObject({ is_active: true, disabled_reason: null });
    });

    it("just past the period: a failure disables the hook, saying since when it failed", async () => {
      const { hook } = await oneMoreFailure(AUTO_DISABLE_SECONDS + 30, 0);
      expect(hook.is_active).toBe(false);
      expect(hook.disabled_reason).toMatch(/^every attempt failed since \d{4}-\d\d-\d\dT/);
    });
  });
});
