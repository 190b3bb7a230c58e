import { randomBytes } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectQueue, ensureStream, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { ackMsg, pull } from "./pull.js";

const NATS_URL = process.env.TEST_QUEUE_URL ?? "nats://127.0.0.1:4222";

/** The claim's pull on a real nats-server (TEST_QUEUE_URL or 127.0.0.1:4222): what is there, never more than asked. */
describe("pull (NATS)", () => {
  const config = { servers: [NATS_URL], prefix: `pull_${randomBytes(4).toString("hex")}`, replicas: 1, credsFile: undefined, tls: undefined };
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

  it("nothing there: nothing (the server's status message is not a message)", async () => {
    expect(await pull(nc, names.stream, names.consumer, 10)).toEqual([]);
  });

  it("returns what is there, never more than asked", async () => {
    await publish(3);
    const first = await pull(nc, names.stream, names.consumer, 2);
    expect(first).toHaveLength(2);
    const second = await pull(nc, names.stream, names.consumer, 5);
    expect(second).toHaveLength(1);
    for (const msg of [...first, ...second]) ackMsg(nc, msg);
    await nc.flush();
  });
});
