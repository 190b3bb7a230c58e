import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, ensureStream, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { ackMsg, pull } from "./pull.js";
import { freshQueueConfig, TEST_NATS_URL } from "./test-fixtures.js";


/** The claim's pull on a real nats-server (TEST_QUEUE_URL or 127.0.0.1:4222): what is there, never more than asked. */
describe("pull (NATS)", () => {
  const config = freshQueueConfig("pull");
  const names = jetStreamNames(config.prefix);
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectQueue(config, "pull test");
    await ensureStream(nc, config, 30_000);
  });
  afterAll(async () => {
    await nc?.close();
    await removeQueueStream(config);
  });

  const publish = async (n: number) => {
    for (let i = 0; i < n; i++) await jetstream(nc).publish(names.subject(1), "{}");
  };

  it("nothing there: nothing, at once (the server's status message is not a message, and ends the pull)", async () => {
    const started = Date.now();
    expect(await pull(nc, names.stream, names.consumer, 10)).toEqual([]);
    // Well inside the 2 s a pull waits for an answer that does not come.
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("returns what is there, never more than asked", async () => {
    await publish(3);
    const started = Date.now();
    const first = await pull(nc, names.stream, names.consumer, 2);
    expect(first).toHaveLength(2);
    // A full batch ends the pull (the server sends no status after it): at once, not at the 2 s timeout.
    expect(Date.now() - started).toBeLessThan(1_500);
    const second = await pull(nc, names.stream, names.consumer, 5);
    expect(second).toHaveLength(1);
    for (const msg of [...first, ...second]) ackMsg(nc, msg);
    await nc.flush();
  });

  it("gives up after 2 s; what the server answered meanwhile, read seconds later, is offered again at once, not left to its ack wait", async () => {
    // A loopback proxy holding back what the server sends (a client too busy to read it in time).
    const proxy = await startHoldingProxy(TEST_NATS_URL);
    const slow = await connectQueue({ ...config, servers: [proxy.url] }, "pull test, slow to read");
    try {
      await publish(1);
      proxy.hold();
      const started = Date.now();
      expect(await pull(slow, names.stream, names.consumer, 10)).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      // The answer, read seconds later: the message is with the slow client, awaiting its ack for the ack wait (30 s) unless offered again.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      proxy.release();
      // The first round trip reads the held answer (the -NAK goes out then), the second sees the -NAK through.
      await slow.flush();
      await slow.flush();
      const again = await pull(nc, names.stream, names.consumer, 10);
      expect(again.map((msg) => msg.subject)).toEqual([names.subject(1)]);
      for (const msg of again) ackMsg(nc, msg);
      await nc.flush();
    } finally {
      await slow.close();
      await proxy.close();
    }
  });
});

/** A TCP proxy on loopback to the first server of `natsUrl` whose answers to the client can be held back, then let through in order. */
async function startHoldingProxy(natsUrl: string) {
  const upstream = new URL(natsUrl.split(",")[0]!);
  let holding = false;
  const held: Array<() => void> = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const up = connect(Number(upstream.port || 4222), upstream.hostname);
    sockets.push(client, up);
    client.pipe(up);
    up.on("data", (chunk) => (holding ? held.push(() => client.write(chunk)) : client.write(chunk)));
    for (const socket of [client, up]) socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `nats://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const write of held.splice(0)) write();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
