import { randomBytes } from "node:crypto";
import type { QueueConfig } from "../../../config.js";
import type { ClaimPolicy } from "../../../store/claim-deliveries.js";

/** The nats-server the queue's tests run against: TEST_QUEUE_URL, else this machine's 127.0.0.1:4222. */
export const TEST_NATS_URL = process.env.TEST_QUEUE_URL ?? "nats://127.0.0.1:4222";

/** The claim policy of the queue's tests: a cap of 10 rows a hook, the breaker at 5 failures, a 1 s throttle horizon. */
export const TEST_CLAIM_POLICY: ClaimPolicy = { hookMaxInFlight: 10, breakerThreshold: 5, throttleHorizonMs: 1_000 };

/** A queue config on the test server (one replica, no credentials), its stream and consumer named by `prefix`. */
export function testQueueConfig(prefix: string): QueueConfig {
  return { servers: [TEST_NATS_URL], prefix, replicas: 1, credsFile: undefined, tls: undefined };
}

/** testQueueConfig with `label` and a random suffix: a stream of the test's own, where no other test's messages come. */
export function freshQueueConfig(label: string): QueueConfig {
  return testQueueConfig(`${label}_${randomBytes(4).toString("hex")}`);
}
