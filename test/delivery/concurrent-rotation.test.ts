import { createVerifier } from "@hookline/receiver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/*
 * Read-modify-write races on a hook. Two rotations at once both read the same
 * secret and both retired it: the first answer promised the original secret
 * would sign until tomorrow, yet after the second the next delivery was
 * signed with the two new secrets only. A rotated-out secret now signs for
 * its whole grace period whatever happens beside it (the rotation holds the
 * row's lock from read to write, and keeps every secret still in its grace
 * period, at most 10). Checked on each delivery with the receiver kit,
 * against every secret that should still sign.
 */
describe.each(testBackends())("concurrent writes to one hook ($kind)", (backend) => {
  let stack: DeliveryStack;
  let n = 0;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, { ...FAST_DELIVERY_ENV, HOOKLINE_SECRET_ROTATION_GRACE_SECONDS: "86400" });
    stack.receiver.handler = (_request, res) => void res.writeHead(204).end();
  });
  afterAll(() => stack?.close());

  async function newHook() {
    const path = `/rotation-${++n}`;
    const created = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}${path}`, events: [`race${n}:*`], name: "before" } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return { id: created.body.id as number, secret: created.body.secret as string, path, type: `race${n}:done` };
  }

  /** Publishes one event to the hook and verifies its delivery with each of `secrets` alone (the receiver kit). */
  async function expectSignedWithEach(hook: { path: string; type: string }, secrets: string[]) {
    const before = stack.receiver.requests.filter((r) => r.url === hook.path).length;
    expect((await stack.api.call("POST", "/v1/events", { body: { type: hook.type, data: { n: before } } })).status).toBe(202);
    const request = await eventually(async () => stack.receiver.requests.filter((r) => r.url === hook.path)[before], 20_000, "the delivery");
    const signatures = String(request.headers["webhook-signature"]).split(" ");
    expect(signatures, "one signature per secret still signing").toHaveLength(secrets.length);
    for (const secret of secrets) {
      expect(() => createVerifier(secret).verify({ headers: request.headers as Record<string, string>, body: request.body }), `signed with ${secret}`).not.toThrow();
    }
  }

  it("two rotations at once: both answer 200, and the original and both new secrets sign", async () => {
    const hook = await newHook();
    const answers = await Promise.all([1, 2].map(() => stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} })));
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const newSecrets = answers.map((a) => a.body.secret as string);
    expect(new Set(newSecrets).size).toBe(2);

    // One rotation ran first and retired the original; the second retired the first one's secret.
    const shown = (await stack.api.call("GET", `/v1/hooks/${hook.id}/secret`)).body;
    expect(newSecrets).toContain(shown.secret);
    const retired = (shown.previous_secrets as Array<{ secret: string; expires_at: string }>).map((s) => s.secret);
    expect(new Set([shown.secret, ...retired])).toEqual(new Set([hook.secret, ...newSecrets]));
    expect(retired.at(-1)).toBe(hook.secret);
    expect(shown.previous_secret).toBe(retired[0]);
    // Each keeps its own whole grace period: about a day from its rotation.
    for (const entry of shown.previous_secrets) expect(Date.parse(entry.expires_at)).toBeGreaterThan(Date.now() + 23 * 3600_000);

    await expectSignedWithEach(hook, [hook.secret, ...newSecrets]);
  }, 60_000);

  it("five rotations at once: every secret each answer named signs", async () => {
    const hook = await newHook();
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} })));
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    // Every answer's previous secrets are still signing: nothing it promised was dropped.
    const promised = new Set(answers.flatMap((a) => [a.body.secret, ...a.body.previous_secrets.map((s: { secret: string }) => s.secret)]));
    expect(promised.size).toBe(6);
    await expectSignedWithEach(hook, [...promised] as string[]);
  }, 60_000);

  it("a rotation and a PATCH at once: both take effect, and the original secret still signs", async () => {
    const hook = await newHook();
    const [rotated, patched] = await Promise.all([
      stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} }),
      stack.api.call("PATCH", `/v1/hooks/${hook.id}`, { body: { name: "after", retries: 7 } }),
    ]);
    expect([rotated.status, patched.status]).toEqual([200, 200]);
    const shown = (await stack.api.call("GET", `/v1/hooks/${hook.id}`)).body;
    expect([shown.name, shown.retries]).toEqual(["after", 7]);
    const secrets = (await stack.api.call("GET", `/v1/hooks/${hook.id}/secret`)).body;
    expect(secrets.secret).toBe(rotated.body.secret);
    expect(secrets.previous_secret).toBe(hook.secret);
    await expectSignedWithEach(hook, [hook.secret, rotated.body.secret]);
  }, 60_000);

  it("refuses an eleventh rotated-out secret with 409 rather than cut one's grace short", async () => {
    const hook = await newHook();
    const secrets = [hook.secret];
    for (let i = 0; i < 10; i++) {
      const answer = await stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      secrets.push(answer.body.secret);
    }
    const refused = await stack.api.call("POST", `/v1/hooks/${hook.id}/secret/rotate`, { body: {} });
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(refused.body.detail).toMatch(/10 rotated-out secrets/);
    await expectSignedWithEach(hook, secrets);
  }, 60_000);
});
