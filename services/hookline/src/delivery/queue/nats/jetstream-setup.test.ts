import { randomBytes } from "node:crypto";
import { AckPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueConfig } from "../../../config.js";
import { connectQueue, DUPLICATE_WINDOW_MS, ensureStream, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";

const NATS_URL = process.env.TEST_QUEUE_URL ?? "nats://127.0.0.1:4222";
const configOf = (servers: string[], fields: Partial<QueueConfig> = {}): QueueConfig => ({
  servers,
  prefix: `setup_${randomBytes(4).toString("hex")}`,
  replicas: 1,
  credsFile: undefined,
  tls: undefined,
  ...fields,
});

it("names the stream, a subject per hook, the subjects and the consumer after the prefix", () => {
  const names = jetStreamNames("acme");
  expect([names.stream, names.subject(42), names.subjects, names.consumer]).toEqual([
    "acme_deliveries",
    "acme.deliveries.42",
    "acme.deliveries.>",
    "acme_workers",
  ]);
});

/** The stream and consumer on the test nats-server (TEST_QUEUE_URL or 127.0.0.1:4222, one node), a prefix per test. */
describe("the queue's stream and consumer", () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const made: QueueConfig[] = [];
  const fresh = (fields: Partial<QueueConfig> = {}) => {
    const config = configOf([NATS_URL], fields);
    made.push(config);
    return config;
  };
  beforeAll(async () => {
    nc = await connectQueue(configOf([NATS_URL]), "jetstream-setup test");
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const config of made) await removeQueueStream(config);
    await nc?.close();
  });

  it("creates a work-queue stream on file with the duplicate window, and one durable pull consumer whose ack wait is the lease", async () => {
    const config = fresh({ replicas: undefined });
    const names = jetStreamNames(config.prefix);
    await ensureStream(nc, config, 7_000);
    const stream = (await jsm.streams.info(names.stream)).config;
    expect(stream).toMatchObject({
      subjects: [names.subjects],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      // No replicas asked for: 3 and 2 are refused by a single node, 1 is taken.
      num_replicas: 1,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
    const consumer = (await jsm.consumers.info(names.stream, names.consumer)).config;
    expect(consumer).toMatchObject({
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(7_000),
      max_deliver: -1,
      max_ack_pending: -1,
      max_waiting: 4096,
      filter_subject: names.subjects,
    });
  });

  it("refuses replicas the cluster cannot hold when they are asked for, creating nothing", async () => {
    const config = fresh({ replicas: 3 });
    await expect(ensureStream(nc, config, 7_000)).rejects.toThrow(/replicas/i);
    await expect(jsm.streams.info(jetStreamNames(config.prefix).stream)).rejects.toThrow();
  });

  it("keeps an existing stream and brings its consumer's ack wait in line with a new lease", async () => {
    const config = fresh();
    const names = jetStreamNames(config.prefix);
    await ensureStream(nc, config, 7_000);
    await jsm.streams.update(names.stream, { max_msgs: 1_000 });
    await ensureStream(nc, config, 9_000);
    expect((await jsm.streams.info(names.stream)).config.max_msgs).toBe(1_000);
    expect((await jsm.consumers.info(names.stream, names.consumer)).config.ack_wait).toBe(nanos(9_000));
  });

  it("leaves an existing consumer's other settings alone (max_waiting cannot be changed), and still brings its ack wait in line", async () => {
    const config = fresh();
    const names = jetStreamNames(config.prefix);
    await ensureStream(nc, config, 7_000);
    // As an operator (or an earlier version) left it: a setting the server refuses to change on an existing consumer.
    await jsm.consumers.delete(names.stream, names.consumer);
    await jsm.consumers.add(names.stream, {
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(7_000),
      max_waiting: 512,
      filter_subject: names.subjects,
    });
    await ensureStream(nc, config, 9_000);
    const consumer = (await jsm.consumers.info(names.stream, names.consumer)).config;
    expect([consumer.max_waiting, consumer.ack_wait]).toEqual([512, nanos(9_000)]);
  });

  it("two processes starting at once both get the one stream and consumer", async () => {
    const config = fresh({ replicas: undefined });
    const names = jetStreamNames(config.prefix);
    await Promise.all([ensureStream(nc, config, 7_000), ensureStream(nc, config, 7_000)]);
    expect((await jsm.consumers.info(names.stream, names.consumer)).config.ack_wait).toBe(nanos(7_000));
  });

  it("a process asking for more replicas than the node has takes the stream another process made meanwhile", async () => {
    const config = fresh({ replicas: 1 });
    const names = jetStreamNames(config.prefix);
    // Both find no stream; the second's add (2 replicas, refused by one node) fails after the first's made it.
    await Promise.all([ensureStream(nc, config, 7_000), ensureStream(nc, { ...config, replicas: 2 }, 7_000)]);
    expect((await jsm.streams.info(names.stream)).config.num_replicas).toBe(1);
  });

  it("throws the server's refusal when the consumer cannot be made: a stream of that name without the prefix's subjects", async () => {
    const config = fresh();
    const names = jetStreamNames(config.prefix);
    await jsm.streams.add({ name: names.stream, subjects: [`elsewhere.${config.prefix}`] });
    await expect(ensureStream(nc, config, 7_000)).rejects.toThrow(/subject/i);
    await expect(jsm.consumers.info(names.stream, names.consumer)).rejects.toThrow();
  });

  it("removes the stream a prefix names; one already gone is fine", async () => {
    const config = fresh();
    await ensureStream(nc, config, 7_000);
    await removeQueueStream(config);
    await expect(jsm.streams.info(jetStreamNames(config.prefix).stream)).rejects.toThrow();
    await expect(removeQueueStream(config)).resolves.toBeUndefined();
  });
});
