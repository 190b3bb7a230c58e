import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { FAST_DELIVERY_ENV, eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/** A self-signed certificate for 127.0.0.1, made by the openssl CLI for this run only. */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "hookline-tls-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(testBackends())("TLS, pings and verify ($kind)", (backend) => {
  let stack: DeliveryStack;
  let api: DeliveryStack["api"];
  let receiver: DeliveryStack["receiver"];
  let https: Server;
  let httpsUrl: string;
  const httpsRequests: string[] = [];

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, FAST_DELIVERY_ENV, (req, res) => {
      if (req.url.startsWith("/fail")) return void res.writeHead(500).end("no thanks");
      res.writeHead(204).end();
    });
    ({ api, receiver } = stack);
    https = createServer(selfSignedCertificate(), (req, res) => {
      httpsRequests.push(req.url!);
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    https?.closeAllConnections();
    await new Promise((resolve) => https?.close(resolve));
    await stack?.close();
  });

  async function deliveryTo(url: string, fields: Record<string, unknown>) {
    const hook = await api.call("POST", "/v1/hooks", { body: { url, events: ["tls.test"], retries: 0, ...fields } });
    expect(hook.status).toBe(201);
    return hook.body.id as number;
  }

  it("refuses a self-signed certificate unless the hook sets insecure_ssl", async () => {
    await deliveryTo(`${httpsUrl}/strict`, { insecure_ssl: false });
    await deliveryTo(`${httpsUrl}/insecure`, { insecure_ssl: true });
    const published = await api.call("POST", "/v1/events", { body: { type: "tls.test", data: {} } });
    const event = await api.call("GET", `/v1/events/${published.body.id}`);
    const outcomes = await Promise.all(
      event.body.deliveries.map((d: { id: number }) =>
        eventually(async () => {
          const got = await api.call("GET", `/v1/deliveries/${d.id}`);
          return got.body.status === "pending" || got.body.status === "in_flight" ? undefined : got.body;
        }),
      ),
    );
    const [strict, insecure] = outcomes.sort((a: any, b: any) => a.hook_id - b.hook_id);
    expect(strict).toMatchObject({ status: "failed" });
    expect(strict.attempts[0].error_kind).toBe("tls");
    expect(insecure).toMatchObject({ status: "succeeded", last_response_status: 204 });
    expect(httpsRequests).toEqual(["/insecure"]);
  });

  it("pings: 204 on a 2xx, 400 with the reason otherwise", async () => {
    const ok = await deliveryTo(`${receiver.url}/ping-ok`, {});
    const failing = await deliveryTo(`${receiver.url}/fail`, {});
    expect((await api.call("POST", `/v1/hooks/${ok}/pings`)).status).toBe(204);
    const ping = receiver.requests.find((r) => r.url === "/ping-ok")!;
    expect(ping.headers["hookline-event-type"]).toBe("ping");
    expect(JSON.parse(ping.body)).toMatchObject({ hook_id: ok, url: `${receiver.url}/ping-ok` });
    const refused = await api.call("POST", `/v1/hooks/${failing}/pings`);
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/HTTP 500/);
    expect((await api.call("POST", "/v1/hooks/999999/pings")).status).toBe(404);
  });

  it("creates with verify only when the ping passes", async () => {
    const before = (await api.call("GET", "/v1/hooks?limit=200")).body.length;
    const refused = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/fail-create`, events: ["*"], verify: true } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].path).toBe("body.url");
    expect((await api.call("GET", "/v1/hooks?limit=200")).body.length).toBe(before);

    const created = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/verified`, events: ["*"], verify: true } });
    expect(created.status).toBe(201);
    const ping = receiver.requests.find((r) => r.url === "/verified")!;
    expect(JSON.parse(ping.body).hook_id).toBe(created.body.id);
  });

  it("PATCH with verify pings when the url changes or the hook is switched on", async () => {
    const id = await deliveryTo(`${receiver.url}/patch-a`, { is_active: false });
    const pingsTo = (path: string) => receiver.requests.filter((r) => r.url === path && r.headers["hookline-event-type"] === "ping").length;
    // Neither the url nor activation changes: no ping.
    expect((await api.call("PATCH", `/v1/hooks/${id}`, { body: { name: "renamed", verify: true } })).status).toBe(200);
    expect(pingsTo("/patch-a")).toBe(0);
    // Switched on: pinged.
    expect((await api.call("PATCH", `/v1/hooks/${id}`, { body: { is_active: true, verify: true } })).status).toBe(200);
    expect(pingsTo("/patch-a")).toBe(1);
    // A new url that fails the ping: 400 and the hook keeps its url.
    const refused = await api.call("PATCH", `/v1/hooks/${id}`, { body: { url: `${receiver.url}/fail-patch`, verify: true } });
    expect(refused.status).toBe(400);
    expect((await api.call("GET", `/v1/hooks/${id}`)).body.url).toBe(`${receiver.url}/patch-a`);
    // Without verify, no ping.
    expect((await api.call("PATCH", `/v1/hooks/${id}`, { body: { url: `${receiver.url}/patch-b` } })).status).toBe(200);
    expect(pingsTo("/patch-b")).toBe(0);
  });
});
