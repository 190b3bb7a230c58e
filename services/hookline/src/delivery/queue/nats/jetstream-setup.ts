import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { AckPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { connect, credsAuthenticator, nanos, type NatsConnection } from "@nats-io/transport-node";
import type { QueueConfig } from "../../../config.js";

/**
 * How long a publish's `Nats-Msg-Id` is remembered: the outbox relay's
 * retries of a row (a publish acknowledged, the delete not committed) fall
 * inside it unless PostgreSQL stays away longer; a duplicate past it is one
 * more message (token) for its hook, acknowledged once the hook has nothing
 * pending (the record is the truth).
 */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** The JetStream names a prefix gives (HOOKLINE_QUEUE_PREFIX). */
export function jetStreamNames(prefix: string) {
  return {
    stream: `${prefix}_deliveries`,
    /** One subject per hook: each hook's deliveries keep their order in the stream. */
    subject: (hookId: number) => `${prefix}.deliveries.${hookId}`,
    subjects: `${prefix}.deliveries.>`,
    consumer: `${prefix}_workers`,
  };
}

/**
 * Connects to the servers of HOOKLINE_QUEUE_URL: user and password from the
 * first URL that has them (the client's own URL parsing drops them), a
 * credentials file, TLS files; reconnects for ever (an outage is waited out:
 * the outbox holds publishes meanwhile).
 *
 * TLS to a server named by IP address: nats.js dials it without a TLS server
 * name, and Node then checks the certificate against "localhost", so a
 * certificate naming the address (an IP subjectAltName, RFC 5280 §4.2.1.6)
 * was refused. The check here accepts a certificate that names any address
 * of HOOKLINE_QUEUE_URL (the client cannot say which one it dialled); a
 * server named by DNS name is checked against that name as usual.
 *
 * Throws when no server could be reached or the server refused us, with
 * the addresses (never the password) and the client's reason.
 */
export async function connectQueue(config: QueueConfig, name: string): Promise<NatsConnection> {
  let user: string | undefined;
  let pass: string | undefined;
  const hosts: string[] = [];
  const servers = config.servers.map((server) => {
    const url = new URL(server.includes("://") ? server : `nats://${server}`);
    if (url.username && user === undefined) {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    }
    hosts.push(url.hostname.replace(/^\[|\]$/g, ""));
    return `${url.hostname}:${url.port || 4222}`;
  });
  const addresses = hosts.filter((host) => isIP(host) !== 0);
  const tls = config.tls && {
    caFile: config.tls.caFile,
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    // With no address in the list, this is Node's own check.
    checkServerIdentity: (host: string, cert: PeerCertificate) => checkServerIdentityOf(addresses, host, cert),
  };
  try {
    return await connect({
      servers,
      name,
      user,
      pass,
      authenticator: config.credsFile ? credsAuthenticator(readFileSync(config.credsFile)) : undefined,
      tls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (error) {
    throw new Error(`could not connect to the NATS queue (${servers.join(", ")}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Node's check for `host`, or for one of `addresses` when `host` is the "localhost" Node falls back to without a server name. */
function checkServerIdentityOf(addresses: string[], host: string, cert: PeerCertificate): Error | undefined {
  const refusal = checkServerIdentity(host, cert);
  if (!refusal || host !== "localhost") return refusal;
  return addresses.some((address) => checkServerIdentity(address, cert) === undefined) ? undefined : refusal;
}

/**
 * Creates the stream and the workers' consumer if they are missing, and
 * brings the consumer's ack wait in line with the lease.
 *
 * The stream: work-queue retention (a message leaves when acknowledged),
 * file storage, replicated on min(3, cluster size) nodes unless
 * HOOKLINE_QUEUE_REPLICAS says (tried 3, then 2, then 1: the server refuses
 * more replicas than it has nodes, and has no cheaper way to ask).
 *
 * The consumer: ONE durable pull consumer shared by every worker, with the
 * per-hook cap, throttle and breaker kept by the claim in PostgreSQL (the
 * same statement as the PostgreSQL queue's, limited per hook to the messages
 * pulled: nats-queue.ts), not one consumer per hook. Why: a consumer per hook gives each its own
 * `max_ack_pending`, but the cap is not a fixed number (the breaker drops it
 * to 1, a fast hook gets 16×, `max_in_flight` is edited through the API),
 * throttling has no JetStream equivalent, and 10,000 hooks would be 10,000
 * Raft-replicated consumers a worker would have to pull from in turn.
 * Measured on the machine's nats-server 2.9.10 (one node, R1, 2026-12-06,
 * other work running): creating 1,000 filtered durable consumers took 3.2 s
 * (200: 0.3 s); one no_wait pull on each of them, to find the 10 with a
 * message, took 241 ms a round (200: 18 ms), against 0.55 ms for one pull on
 * a shared consumer — and it grows faster than the hook count. The
 * cost of sharing: the messages of a hook at its cap are held by a worker
 * (or, past its bound, nak'ed with a short delay and pulled again). `ack_wait` is the lease (HOOKLINE_LEASE_MS), as
 * the PostgreSQL lock is: a killed worker's messages come back when its
 * claims expire. `max_ack_pending` unlimited: retries wait as nak'ed
 * messages, and must never stop new deliveries being pulled.
 */
export async function ensureStream(nc: NatsConnection, config: QueueConfig, leaseMs: number): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  const names = jetStreamNames(config.prefix);
  const streamExists = () => jsm.streams.info(names.stream).then(() => true, () => false);
  if (!(await streamExists())) {
    let lastError: unknown;
    for (const replicas of config.replicas ? [config.replicas] : [3, 2, 1]) {
      try {
        await jsm.streams.add({
          name: names.stream,
          subjects: [names.subjects],
          retention: RetentionPolicy.Workqueue,
          storage: StorageType.File,
          discard: DiscardPolicy.Old,
          num_replicas: replicas,
          duplicate_window: nanos(DUPLICATE_WINDOW_MS),
        });
        lastError = undefined;
        break;
      } catch (error) {
        lastError = error;
        // Another process created it meanwhile.
        if (await streamExists()) {
          lastError = undefined;
          break;
        }
      }
    }
    if (lastError) throw lastError;
  }
  const consumer = {
    durable_name: names.consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(leaseMs),
    max_deliver: -1,
    max_ack_pending: -1,
    max_waiting: 4096,
    filter_subject: names.subjects,
  };
  const info = await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined);
  if (!info) await jsm.consumers.add(names.stream, consumer).catch(async (error) => {
    if (!(await jsm.consumers.info(names.stream, names.consumer).catch(() => undefined))) throw error;
  });
  else if (info.config.ack_wait !== consumer.ack_wait) await jsm.consumers.update(names.stream, names.consumer, { ack_wait: consumer.ack_wait });
  return jsm;
}

/** Deletes the stream (and its consumer) a prefix names: for tests and for an operator retiring a deployment. Missing is fine. */
export async function removeQueueStream(config: QueueConfig): Promise<void> {
  const nc = await connectQueue(config, "hookline:remove-stream");
  try {
    await (await jetstreamManager(nc)).streams.delete(jetStreamNames(config.prefix).stream).catch(() => {});
  } finally {
    await nc.close();
  }
}
