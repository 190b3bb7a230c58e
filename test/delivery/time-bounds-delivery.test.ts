import { sql } from "kysely";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, startTestWorker, type DeliveryStack, type ReceivedRequest } from "../support/delivery.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here the bounds of the delivery queue, seen through the API, a
 * worker and a receiver: the lease of a claimed row, the cap its held rows
 * keep until the lease ends, the due time, a hook's not_before, and a
 * rotated-out secret's grace on the claim path. The rows' clocks are moved
 * with SQL; "not sent" is watched for a bounded while (many polls).
 */

const LEASE_MS = 10_000;
const GRACE_SECONDS = 3600;
/** How long "nothing is sent" is watched: a dozen of the worker's 50 ms polls. */
const QUIET_MS = 700;

describe.each(testBackends())("delivery time bounds, each side ($kind)", (backend) => {
  let stack: DeliveryStack;
  let n = 0;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, { ...FAST_DELIVERY_ENV, HOOKLINE_LEASE_MS: String(LEASE_MS), HOOKLINE_SECRET_ROTATION_GRACE_SECONDS: String(GRACE_SECONDS) });
  });
  afterAll(() => stack?.close());

  const db = () => stack.database.store.db;
  const at = (path: string) => stack.receiver.requests.filter((r) => r.url === path);
  const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));
  const arrived = (path: string, count = 1) => eventually(async () => (at(path).length >= count ? at(path) : undefined), 10_000, `${count} request(s) at ${path}`);

  /**
   * A hook held out of claims (not_before = infinity) with `count` deliveries
   * published to it, so a test sets the rows' clocks before any worker sees them.
   */
  async function heldHook(fields: Record<string, unknown> = {}, count = 1) {
    const path = `/bound-${++n}`;
    const type = `bound.t${n}`;
    const hook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}${path}`, events: [type], ...fields } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    await sql`update hooks set not_before = 'infinity' where id = ${hook.body.id}`.execute(db());
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const event = await stack.api.call("POST", "/v1/events", { body: { type, data: { i } } });
      ids.push((await stack.api.call("GET", `/v1/events/${event.body.id}`)).body.deliveries[0].id);
    }
    const setNotBefore = (seconds: number | null) =>
      sql`update hooks set not_before = ${seconds === null ? null : sql`now() + make_interval(secs => ${seconds})`} where id = ${hook.body.id}`.execute(db());
    return { hook: hook.body, path, ids, release: () => setNotBefore(null), setNotBefore };
  }

  const setRow = (id: number, set: { lockedBy?: string | null; lockedIn?: number; dueIn?: number }) =>
    sql`update deliveries set
          locked_by = ${set.lockedBy === undefined ? sql`locked_by` : set.lockedBy},
          locked_until = ${set.lockedIn === undefined ? sql`locked_until` : sql`now() + make_interval(secs => ${set.lockedIn})`},
          next_attempt_at = ${set.dueIn === undefined ? sql`next_attempt_at` : sql`now() + make_interval(secs => ${set.dueIn})`}
        where id = ${id}`.execute(db());

  it("due time: a pending row is not sent before its next_attempt_at, and is sent once it has passed", async () => {
    const { path, ids, release } = await heldHook();
    await setRow(ids[0]!, { dueIn: 5 });
    await release();
    await quiet();
    expect(at(path)).toHaveLength(0);
    await setRow(ids[0]!, { dueIn: -0.5 });
    await arrived(path);
  });

  it("not_before: a hook's rows wait while its not_before is ahead, and go once it has passed", async () => {
    const { path, setNotBefore } = await heldHook();
    await setNotBefore(5);
    await quiet();
    expect(at(path)).toHaveLength(0);
    await setNotBefore(-0.5);
    await arrived(path);
  });

  it("lease: a claimed row is leased for HOOKLINE_LEASE_MS; no worker sends it again inside the lease, and one does once it has run out", async () => {
    // The first attempt hangs until the test lets it go: the row stays claimed meanwhile.
    let letGo: () => void = () => {};
    const hanging = new Promise<void>((resolve) => (letGo = resolve));
    const { path, ids, release } = await heldHook();
    stack.receiver.handler = async (request: ReceivedRequest, res) => {
      if (request.url === path && at(path).length === 1) await hanging;
      res.writeHead(204).end();
    };
    const second = await startTestWorker(stack.database, { HOOKLINE_LEASE_MS: String(LEASE_MS) });
    try {
      await release();
      await arrived(path);
      const row = (await sql<{ lease_left: number; due_left: number }>`
        select extract(epoch from locked_until - now()) * 1000 as lease_left, extract(epoch from next_attempt_at - now()) * 1000 as due_left
        from deliveries where id = ${ids[0]!}`.execute(db())).rows[0]!;
      expect(Number(row.lease_left)).toBeGreaterThan(LEASE_MS - 5000);
      expect(Number(row.lease_left)).toBeLessThanOrEqual(LEASE_MS);
      expect(Number(row.due_left)).toBeCloseTo(Number(row.lease_left), -2);
      await quiet();
      expect(at(path), "two workers polled through the lease; neither sent the held row again").toHaveLength(1);
      // The lease runs out (its holder is taken for dead): the row is due, and sent again.
      await setRow(ids[0]!, { lockedIn: -0.5, dueIn: -0.5 });
      await arrived(path, 2);
    } finally {
      letGo();
      stack.receiver.handler = (_request, res) => void res.writeHead(204).end();
      await second.stop();
    }
  });

  it("held rows count against the hook's cap until their lease ends, then stop counting", async () => {
    // Row 0 is held by a worker that died; row 1 is due. The hook's cap is one row in flight.
    const { path, ids, release } = await heldHook({ max_in_flight: 1 }, 2);
    await setRow(ids[0]!, { lockedBy: "dead-worker", lockedIn: 5, dueIn: 3600 });
    await release();
    await quiet();
    expect(at(path), "inside the dead worker's lease the hook is at its cap").toHaveLength(0);
    await setRow(ids[0]!, { lockedIn: -0.5 });
    const [request] = await arrived(path);
    expect(request!.body, "the due row, not the one the dead worker held").toContain('"i":1');
  });

  it("a rotated-out secret signs just inside its grace period, and not just after it (claim path)", async () => {
    const { hook, path, release } = await heldHook({}, 0);
    const rotated = await stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} });
    expect(rotated.status).toBe(200);
    // The grace period is HOOKLINE_SECRET_ROTATION_GRACE_SECONDS long.
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan((GRACE_SECONDS - 10) * 1000);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeLessThanOrEqual(GRACE_SECONDS * 1000);
    /** Moves the end of the grace period of every rotated-out secret to `seconds` from now (the column and each entry). */
    const graceEndsIn = (seconds: number) =>
      sql`update hooks set
            previous_secret = (select jsonb_agg(jsonb_set(e, '{expires_at}', to_jsonb(to_char((now() + make_interval(secs => ${seconds})) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))))::text
                               from jsonb_array_elements(previous_secret::jsonb) e),
            previous_secret_expires_at = now() + make_interval(secs => ${seconds})
          where id = ${hook.id}`.execute(db());
    const signatures = (request: ReceivedRequest) => String(request.headers["webhook-signature"]).split(" ");
    const verifies = (secret: string, request: ReceivedRequest, signature: string) => {
      const headers = { "webhook-id": String(request.headers["webhook-id"]), "webhook-timestamp": String(request.headers["webhook-timestamp"]), "webhook-signature": signature };
      try {
        new Webhook(secret).verify(request.body, headers);
        return true;
      } catch {
        return false;
      }
    };
    await release();

    await graceEndsIn(5);
    await stack.api.call("POST", "/v1/events", { body: { type: `bound.t${n}`, data: { side: "inside" } } });
    const [inside] = await arrived(path);
    expect(signatures(inside!)).toHaveLength(2);
    expect(signatures(inside!).some((s) => verifies(hook.secret, inside!, s)), "the old secret still signs").toBe(true);

    await graceEndsIn(-0.5);
    await stack.api.call("POST", "/v1/events", { body: { type: `bound.t${n}`, data: { side: "after" } } });
    const after = (await arrived(path, 2))[1]!;
    expect(signatures(after), "only the new secret signs once the grace period is over").toHaveLength(1);
    expect(verifies(rotated.body.secret, after, signatures(after)[0]!)).toBe(true);
    expect(verifies(hook.secret, after, signatures(after)[0]!)).toBe(false);
  });
  it("of two rotated-out secrets, only the one inside its grace period signs; the one just past it does not (claim path)", async () => {
    const { hook, path, release } = await heldHook({}, 0);
    const first = await stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} });
    const second = await stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} });
    expect(second.status).toBe(200);
    // The list is newest first: the secret `second` retired (first's) keeps 5 s, the original's grace ended a second ago.
    await sql`update hooks set
          previous_secret = (select jsonb_agg(jsonb_set(e, '{expires_at}', to_jsonb(to_char((now() + make_interval(secs => case when i = 1 then 5 else -1 end)) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))) order by i)::text
                             from jsonb_array_elements(previous_secret::jsonb) with ordinality as t(e, i)),
          previous_secret_expires_at = now() + interval '5 seconds'
        where id = ${hook.id}`.execute(db());
    await release();
    await stack.api.call("POST", "/v1/events", { body: { type: `bound.t${n}`, data: {} } });
    const [request] = await arrived(path);
    const signatures = String(request!.headers["webhook-signature"]).split(" ");
    const signedBy = (secret: string) =>
      signatures.some((signature) => {
        try {
          new Webhook(secret).verify(request!.body, { "webhook-id": String(request!.headers["webhook-id"]), "webhook-timestamp": String(request!.headers["webhook-timestamp"]), "webhook-signature": signature });
          return true;
        } catch {
          return false;
        }
      });
    expect(signatures).toHaveLength(2);
    expect(signedBy(second.body.secret)).toBe(true);
    expect(signedBy(first.body.secret), "retired 5 s from now: signs").toBe(true);
    expect(signedBy(hook.secret), "grace ended a second ago: does not sign").toBe(false);
  });
  it("a throttled hook: the worker claims only the rows that may start within the throttle horizon (1 s), not its backlog", async () => {
    const { hook, path, release } = await heldHook({ rate_limit: 1 }, 8);
    await release();
    await arrived(path);
    const held = async () =>
      Number((await sql<{ n: number }>`select count(*)::int as n from deliveries where hook_id = ${hook.id} and locked_by is not null`.execute(db())).rows[0]!.n);
    // At one a second, within a one-second horizon: the row sent and at most the next one or two are held, never the backlog.
    for (let i = 0; i < 5; i++) {
      expect(await held()).toBeLessThanOrEqual(3);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await arrived(path, 2);
    await sql`update deliveries set status = 'cancelled' where hook_id = ${hook.id} and status = 'pending'`.execute(db());
  });

  it("queue gauges: a pending row counts as due once its next_attempt_at has passed, as scheduled just before", async () => {
    const { ids } = await heldHook({}, 2);
    const gauge = async (state: string) => {
      const text = (await stack.api.call("GET", "/metrics")).body as string;
      return Number(new RegExp(`^hookline_queue_depth\\{state="${state}"\\} (\\S+)`, "m").exec(text)?.[1]);
    };
    await setRow(ids[0]!, { dueIn: 5 });
    await setRow(ids[1]!, { dueIn: 5 });
    const [due, scheduled] = [await gauge("due"), await gauge("scheduled")];
    await setRow(ids[0]!, { dueIn: -1 });
    expect(await gauge("due")).toBe(due + 1);
    expect(await gauge("scheduled")).toBe(scheduled - 1);
    await sql`update deliveries set status = 'cancelled' where id in (${ids[0]!}, ${ids[1]!})`.execute(db());
  });
  it("a hook whose rows break the claim is paused for 60 s (not longer), and claimed again once the pause has passed", async () => {
    const { hook, path, release } = await heldHook({}, 1);
    // rate_limit 0 makes the claim statement divide by zero for this hook's rows (no API writes it).
    await sql`update hooks set rate_limit = 0 where id = ${hook.id}`.execute(db());
    await release();
    const paused = await eventually(async () => {
      const row = (await sql<{ left: number | null; last_reason: string | null }>`
        select extract(epoch from not_before - now()) as left, last_reason from hooks where id = ${hook.id}`.execute(db())).rows[0]!;
      return row.last_reason?.startsWith("deliveries could not be claimed") ? Number(row.left) : undefined;
    }, 10_000, "the hook paused");
    expect(paused).toBeGreaterThan(55);
    expect(paused).toBeLessThanOrEqual(60);
    // Mended, and the pause over: its row goes.
    await sql`update hooks set rate_limit = null, not_before = now() - interval '0.5 seconds' where id = ${hook.id}`.execute(db());
    await arrived(path);
  });
});
