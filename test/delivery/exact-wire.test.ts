import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/** `msg_<ULID>_<hook id>`: Crockford base32 ULID (26 characters). */
const MESSAGE_ID = /^msg_[0-9A-HJKMNP-TV-Z]{26}_\d+$/;

/**
 * What reaches the receiver is the producer's data byte for byte, ids are
 * globally unique and stable, and a delivery's status says what is happening
 * (issue 15 items 3, 5, 6). Real API, worker and receiver on 127.0.0.1.
 */
describe.each(testBackends())("exact on the wire ($kind)", (backend) => {
  let stack: DeliveryStack;
  let api: DeliveryStack["api"];
  let receiver: DeliveryStack["receiver"];

  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
    ({ api, receiver } = stack);
  });
  afterAll(() => stack?.close());

  async function hook(path: string, fields: Record<string, unknown> = {}) {
    const created = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}${path}`, events: [path.slice(1)], secret: SECRET, ...fields } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: number };
  }
  const at = (path: string) => receiver.requests.filter((r) => r.url.split("?")[0] === path);
  const arrived = (path: string, n = 1) => eventually(async () => (at(path).length >= n ? at(path) : undefined), 10_000, `${n} request(s) at ${path}`);
  const publishRaw = (type: string, dataText: string) =>
    api.call("POST", "/v1/events", { rawBody: `{"type":"${type}", "data": ${dataText}}`, headers: { "content-type": "application/json" } });

  it("delivers every number as written and keys in the producer's order, custom_data spliced in; GET /v1/events/{id} and last_context agree", async () => {
    const data = '{"zeta":1,"10":"ten","order_id":9007199254740993,"price":1.50,"big":1e400,"status":"ok"}';
    const plain = await hook("/exact");
    const merged = await hook("/exact-merged", { custom_data: { team: "acme", status: "masked" } });
    await api.call("PATCH", `/v1/hooks/${merged.id}`, { body: { events: ["exact"] } });
    const published = await publishRaw("exact", data);
    expect(published.status, JSON.stringify(published.body)).toBe(202);

    const [sent] = await arrived("/exact");
    expect(sent!.body).toBe(data);
    expect(() => new Webhook(SECRET).verify(sent!.body, sent!.headers as Record<string, string>)).not.toThrow();
    const [withCustom] = await arrived("/exact-merged");
    expect(withCustom!.body).toBe(`{"team":"acme",${data.slice(1)}`);
    expect(() => new Webhook(SECRET).verify(withCustom!.body, withCustom!.headers as Record<string, string>)).not.toThrow();

    const event = await fetch(`${stack.server.url}/v1/events/${published.body.id}`, { headers: { authorization: `Bearer ${stack.account.key}` } });
    expect(await event.text()).toContain(`"data":${data}`);
    const hookRow = await eventually(async () => {
      const row = (await api.call("GET", `/v1/hooks/${plain.id}`)).body;
      return row.last_context ? row : undefined;
    });
    expect(hookRow.last_context).toContain("9007199254740993");
    expect(hookRow.last_context).not.toContain("9007199254740992");
    void plain;
  });

  /** A request whose answer is read as text: the JSON text is what must be exact, a parse would hide it. */
  async function rawCall(method: string, path: string, body?: string) {
    const headers: Record<string, string> = { authorization: `Bearer ${stack.account.key}`, ...(body ? { "content-type": "application/json" } : {}) };
    const response = await fetch(`${stack.server.url}${path}`, { method, headers, body });
    return { status: response.status, text: await response.text() };
  }

  it("keeps a hook's custom_data exactly as written: stored, shown by every write and read, merged into the delivery byte for byte", async () => {
    const custom = '{"n":9007199254740993,"z":1,"10":"ten","status":"masked","f":1.50}';
    const created = await rawCall("POST", "/v1/hooks", `{"url":"${receiver.url}/custom","events":["custom"],"secret":"${SECRET}","custom_data":${custom}}`);
    expect(created.status, created.text).toBe(201);
    expect(created.text).toContain(`"custom_data":${custom}`);
    const { id } = JSON.parse(created.text) as { id: number };
    expect((await rawCall("GET", `/v1/hooks/${id}`)).text).toContain(`"custom_data":${custom}`);
    expect((await rawCall("GET", "/v1/hooks")).text).toContain(`"custom_data":${custom}`);
    // A replace and a patch store their own text; a patch that leaves custom_data out keeps it.
    const replaced = await rawCall("PUT", `/v1/hooks/${id}`, `{"url":"${receiver.url}/custom","events":["custom"],"custom_data":{"m":9007199254740995,"1":0}}`);
    expect(replaced.text).toContain('"custom_data":{"m":9007199254740995,"1":0}');
    const patched = await rawCall("PATCH", `/v1/hooks/${id}`, `{"custom_data":${custom}}`);
    expect(patched.text).toContain(`"custom_data":${custom}`);
    expect((await rawCall("PATCH", `/v1/hooks/${id}`, '{"name":"exact"}')).text).toContain(`"custom_data":${custom}`);

    const data = '{"status":"ok","b":9007199254740997}';
    expect((await publishRaw("custom", data)).status).toBe(202);
    const [sent] = await arrived("/custom");
    // custom_data's members the event lacks, in custom_data's order and text, ahead of the event's own.
    expect(sent!.body).toBe('{"n":9007199254740993,"z":1,"10":"ten","f":1.50,"status":"ok","b":9007199254740997}');
    expect(() => new Webhook(SECRET).verify(sent!.body, sent!.headers as Record<string, string>)).not.toThrow();
  });

  it("sends custom_data's numbers exactly in a get hook's query string, in the order written", async () => {
    const created = await rawCall("POST", "/v1/hooks", `{"url":"${receiver.url}/custom-get","events":["custom-get"],"secret":"${SECRET}","http_verb":"get","custom_data":{"n":9007199254740993,"2":"b","1":"a"}}`);
    expect(created.status, created.text).toBe(201);
    expect((await publishRaw("custom-get", '{"m":1.50}')).status).toBe(202);
    const [sent] = await arrived("/custom-get");
    expect(sent!.url).toBe("/custom-get?n=9007199254740993&2=b&1=a&m=1.50");
  });

  it("keeps a Kazoo webhook's custom_data exactly as written, in Kazoo's answers and on the wire", async () => {
    const custom = '{"crm":9007199254740993,"2":"b","1":"a"}';
    const webhooks = `/v1/accounts/${stack.account.id}/webhooks`;
    const created = await rawCall("PUT", webhooks, `{"data":{"uri":"${receiver.url}/kazoo-custom","hook":"channel_destroy","custom_data":${custom}}}`);
    expect(created.status, created.text).toBe(201);
    expect(created.text).toContain(`"custom_data":${custom}`);
    const { id } = (JSON.parse(created.text) as { data: { id: string } }).data;
    expect((await rawCall("GET", `${webhooks}/${id}`)).text).toContain(`"custom_data":${custom}`);
    expect((await rawCall("GET", webhooks)).text).toContain(`"custom_data":${custom}`);
    expect((await rawCall("GET", `/v1/hooks/${id}`)).text).toContain(`"custom_data":${custom}`);
    // Its signing secret, to verify what arrives; and an event type of this test's own.
    const secret = (await api.call("GET", `/v1/hooks/${id}/secret`)).body.secret as string;
    expect((await api.call("PATCH", `/v1/hooks/${id}`, { body: { events: ["kazoo-custom"] } })).status).toBe(200);
    expect((await publishRaw("kazoo-custom", '{"call_id":"c-1"}')).status).toBe(202);
    const [sent] = await arrived("/kazoo-custom");
    expect(sent!.body).toBe('{"crm":9007199254740993,"2":"b","1":"a","call_id":"c-1"}');
    expect(() => new Webhook(secret).verify(sent!.body, sent!.headers as Record<string, string>)).not.toThrow();
  });

  it("sends a globally unique webhook-id, msg_<ULID>_<hook id>, the same on every retry and on redelivery", async () => {
    let calls = 0;
    receiver.handler = (req, res) => {
      if (req.url === "/ids" && ++calls < 2) return void res.writeHead(500).end("not yet");
      res.writeHead(204).end();
    };
    const { id: hookId } = await hook("/ids");
    const first = await api.call("POST", "/v1/events", { body: { type: "ids", data: {} } });
    const second = await api.call("POST", "/v1/events", { body: { type: "ids", data: {} } });
    const requests = await arrived("/ids", 3);
    const ids = new Set(requests.map((r) => String(r.headers["webhook-id"])));
    expect(ids.size).toBe(2);
    for (const id of ids) expect(id).toMatch(MESSAGE_ID);
    for (const id of ids) expect(id.endsWith(`_${hookId}`)).toBe(true);

    // The two deliveries may go out in either order (one claim, sent side by
    // side): the one that got the 500 is the one sent twice.
    const deliveries = await Promise.all([first, second].map(async (p) => (await api.call("GET", `/v1/events/${p.body.id}`)).body.deliveries[0]));
    for (const d of deliveries) expect(ids).toContain(d.message_id);
    const sentTimes = deliveries.map((d) => requests.filter((r) => r.headers["webhook-id"] === d.message_id).length);
    expect([...sentTimes].sort()).toEqual([1, 2]); // the 500 and its retry carry one id
    const delivery = deliveries[sentTimes.indexOf(2)];
    await eventually(async () => ((await api.call("GET", `/v1/deliveries/${delivery.id}`)).body.status === "succeeded" ? true : undefined));
    expect((await api.call("POST", `/v1/deliveries/${delivery.id}/redeliver`)).status).toBe(202);
    const again = await arrived("/ids", 4);
    expect(again[3]!.headers["webhook-id"]).toBe(delivery.message_id);
    receiver.handler = (_req, res) => void res.writeHead(204).end();
  });

  it("shows in_flight (no lease end as next_attempt_at) while an attempt is out, then finished_at; redeliver answers due now", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.handler = async (req, res) => {
      if (req.url === "/slow") await held;
      res.writeHead(204).end();
    };
    await hook("/slow");
    const published = await api.call("POST", "/v1/events", { body: { type: "slow", data: {} } });
    await arrived("/slow");
    const deliveryId = (await api.call("GET", `/v1/events/${published.body.id}`)).body.deliveries[0].id as number;
    const during = (await api.call("GET", `/v1/deliveries/${deliveryId}`)).body;
    expect(during).toMatchObject({ status: "in_flight", next_attempt_at: null, finished_at: null });
    release();
    const done = await eventually(async () => {
      const d = (await api.call("GET", `/v1/deliveries/${deliveryId}`)).body;
      return d.status === "succeeded" ? d : undefined;
    });
    expect(done.next_attempt_at).toBeNull();
    expect(Date.parse(done.finished_at)).toBeGreaterThanOrEqual(Date.parse(done.last_attempt_at));

    await stack.worker.stop();
    try {
      const redelivered = await api.call("POST", `/v1/deliveries/${deliveryId}/redeliver`);
      expect(redelivered.status).toBe(202);
      expect(redelivered.body).toMatchObject({ status: "pending", finished_at: null });
      // Due now: not pushed to a lease's end.
      expect(Date.parse(redelivered.body.next_attempt_at)).toBeLessThanOrEqual(Date.now());
    } finally {
      receiver.handler = (_req, res) => void res.writeHead(204).end();
    }
  });
});
