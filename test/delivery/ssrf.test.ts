import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { FAST_DELIVERY_ENV, eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";
import { sealTestSecrets } from "../support/server.js";

const PRIVATE_REFUSED = { ...FAST_DELIVERY_ENV, HOOKLINE_ALLOW_PRIVATE_TARGETS: "false" };

/** A name /etc/hosts maps to loopback that is not a "local name" (`vm` on these machines), read rather than assumed. */
const HOSTS_FILE_NAME = (() => {
  for (const line of readFileSync("/etc/hosts", "utf8").split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    const name = address?.startsWith("127.") ? names.find((n) => !/(^|\.)localhost\.?$/i.test(n) && !n.includes(".")) : undefined;
    if (name) return name;
  }
  throw new Error("no name in /etc/hosts maps to 127.x besides localhost; add one (e.g. `127.0.0.1 vm`) for this test");
})();

/**
 * With private targets not allowed, a callback that resolves to loopback is
 * refused at connect time — names (localhost, via /etc/hosts) and every
 * spelling of the address — and no connection is ever made: the receiver on
 * 127.0.0.1 counts TCP connections and must count zero. The hooks are written
 * straight into the database, as if their name had resolved to a public
 * address when they were saved (DNS rebinding).
 */
describe.each(testBackends())("SSRF guard at connect time ($kind)", (backend) => {
  let stack: DeliveryStack;
  let api: DeliveryStack["api"];
  let receiver: DeliveryStack["receiver"];
  let database: DeliveryStack["database"];
  let accountId: string;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, PRIVATE_REFUSED);
    ({ api, receiver, database } = stack);
    accountId = stack.account.id;
  });
  afterAll(() => stack?.close());

  const spellings = (port: number) => [
    `http://localhost:${port}/name`,
    // Resolved through /etc/hosts to 127.0.0.1 here, and not a "local name": only the resolved-address check stops it.
    `http://${HOSTS_FILE_NAME}:${port}/hosts-file-name`,
    `http://LOCALHOST.:${port}/trailing-dot`,
    `http://127.1:${port}/short`,
    `http://0x7f000001:${port}/hex`,
    `http://2130706433:${port}/decimal`,
    `http://[::ffff:127.0.0.1]:${port}/mapped`,
    `http://[::1]:${port}/v6-loopback`,
    `https://localhost:${port}/tls`,
  ];

  it("refuses the callback before connecting, whatever the spelling", async () => {
    const urls = spellings(receiver.port);
    const hooks = await database.store.db
      .insertInto("hooks")
      .values(urls.map((url) => ({ account_id: accountId, url, events: ["ssrf.probe"], secret: "123456", retries: 0, is_active: true, http_verb: "post" as const, insecure_ssl: false })))
      .returning("id")
      .execute();
    await sealTestSecrets(database);
    const published = await api.call("POST", "/v1/events", { body: { type: "ssrf.probe", data: {} } });
    expect(published.body.deliveries).toBe(urls.length);
    const event = await api.call("GET", `/v1/events/${published.body.id}`);
    for (const { id } of event.body.deliveries) {
      const delivery = await eventually(async () => {
        const d = await api.call("GET", `/v1/deliveries/${id}`);
        return d.body.status === "pending" || d.body.status === "in_flight" ? undefined : d.body;
      });
      expect(delivery.status).toBe("failed");
      expect(delivery.attempts[0].error_kind, JSON.stringify(delivery.attempts[0])).toBe("refused-target");
    }
    expect(hooks).toHaveLength(urls.length);
    expect(receiver.connections).toBe(0);
    expect(receiver.requests).toHaveLength(0);
  });

  it("refuses a ping to such a hook, with the reason", async () => {
    const [hook] = await database.store.db
      .insertInto("hooks")
      .values({ account_id: accountId, url: `http://${HOSTS_FILE_NAME}:${receiver.port}/ping`, events: ["x"], secret: "123456", retries: 0, is_active: true, http_verb: "post", insecure_ssl: false })
      .returning("id")
      .execute();
    await sealTestSecrets(database);
    const ping = await api.call("POST", `/v1/hooks/${hook!.id}/pings`);
    expect(ping.status).toBe(400);
    expect(ping.body.detail).toMatch(new RegExp(`refused target: ${HOSTS_FILE_NAME} resolves to 127\\.`));
    expect(receiver.connections).toBe(0);
  });

  it("refuses loopback callbacks already when a hook is saved", async () => {
    for (const url of spellings(receiver.port).filter((u) => !u.includes(`//${HOSTS_FILE_NAME}:`))) {
      const created = await api.call("POST", "/v1/hooks", { body: { url, events: ["x"] } });
      expect(created.status, url).toBe(400);
    }
  });

  // Issue 25: every IPv6 form that carries an IPv4 address is judged by the IPv4 it carries.
  it.each([
    ["IPv4-compatible", "[::127.0.0.1]"],
    ["IPv4-compatible, hexadecimal", "[::7f00:1]"],
    ["IPv4-translated", "[::ffff:0:127.0.0.1]"],
    ["NAT64", "[64:ff9b::a9fe:a9fe]"],
    ["local-use NAT64", "[64:ff9b:1::10.0.0.1]"],
    ["6to4", "[2002:c0a8:101::1]"],
    ["Teredo (client 127.0.0.1, obfuscated)", "[2001:0:4136:e378:8000:63bf:80ff:fffe]"],
    ["ISATAP", "[2606:4700::5efe:10.1.2.3]"],
  ])("refuses a %s callback %s when it is saved, naming body.url", async (_form, host) => {
    const created = await api.call("POST", "/v1/hooks", { body: { url: `http://${host}:8080/`, events: ["x"] } });
    expect(created.status).toBe(400);
    expect(created.body.errors).toEqual([{ path: "body.url", message: expect.stringMatching(/carries the IPv4 address \S+ \(.+\), which is not a public address/) }]);
  });
});
