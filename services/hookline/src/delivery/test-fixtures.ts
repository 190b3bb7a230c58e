import { sql } from "kysely";
import { monotonicFactory } from "ulid";
import { loadConfig } from "../config.js";
import { HooklineError } from "../domain/errors.js";
import { createLogger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { createSecretBox } from "../signing/secret-box.js";
import type { Store } from "../store/database.js";
import { insertEventBatch } from "../store/event-batch.js";
import { subscriptionPatternsFor } from "../store/hooks.js";
import { createListenSessions, type ListenDeliveryMessage, type ListenSink } from "./listen-sessions.js";

/**
 * What the listen-session tests share (listen-sessions*.test.ts): a service
 * on a fixture store, a sink standing for the client, publishing, and the
 * attempts as stored.
 */

/** One pino line as JSON, for tests that read what was logged. */
export type LogLine = { level: number; msg: string; [field: string]: unknown };

/** A listen-sessions service on `store` with `env` over a silent in-memory config; `logs` collects its warnings and info lines. */
export function listenService(store: Store, env: Record<string, string> = {}, options: { metrics?: Metrics; secretKey?: number } = {}) {
  const logs: LogLine[] = [];
  const config = loadConfig({ HOOKLINE_DATA_DIR: "memory://", LOG_LEVEL: "silent", ...env });
  const logger = createLogger("info", { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const secrets = createSecretBox(Buffer.alloc(32, options.secretKey ?? 7));
  return { listen: createListenSessions({ store, config, secrets, logger, metrics: options.metrics }), logs, config };
}

/** A sink collecting what a stream writes; `gone` is the client going away, `keepAlives` counts the comments. */
export function listenSink(behaviour: { delivery?: () => Promise<void>; keepAlive?: () => Promise<void> } = {}) {
  const client = new AbortController();
  const messages: ListenDeliveryMessage[] = [];
  const waiters: Array<() => void> = [];
  let keepAlives = 0;
  const written: ListenSink = {
    async delivery(message) {
      messages.push(message);
      for (const wake of waiters.splice(0)) wake();
      await behaviour.delivery?.();
    },
    async keepAlive() {
      keepAlives++;
      await behaviour.keepAlive?.();
    },
    signal: client.signal,
  };
  return {
    sink: written,
    messages,
    keepAlives: () => keepAlives,
    gone: () => client.abort(),
    /** The `n`th message (from 1), once written. */
    async message(n: number): Promise<ListenDeliveryMessage> {
      while (messages.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return messages[n - 1]!;
    },
  };
}

const nextUlid = monotonicFactory();

/** Publishes one event of `type` for the account straight into the store; answers its id. */
export async function publishTo(store: Store, accountId: string, type: string, dataText = "{}"): Promise<number> {
  const [outcome] = await insertEventBatch(store.db, [
    { accountId, type, subjectType: null, subject: null, dataText, ulid: nextUlid(), patterns: subscriptionPatternsFor(type) },
  ]);
  return outcome!.ok ? outcome!.event.id : 0;
}

/** A delivery's attempts as stored, oldest first, with the delivery's status. */
export function attemptsOf(store: Store, deliveryId: number) {
  return store.db
    .selectFrom("delivery_attempts as a")
    .innerJoin("deliveries as d", "d.id", "a.delivery_id")
    .select(["d.status", "a.response_status", "a.response_body", "a.response_headers", "a.error_kind", "a.error", "a.duration_ms"])
    .where("a.delivery_id", "=", deliveryId)
    .orderBy("a.id")
    .execute();
}

/** Sets listen session `id` to expire `seconds` from the database's now (negative: lapsed). */
export async function expireListenSessionIn(store: Store, id: number, seconds: number): Promise<void> {
  await store.db
    .updateTable("hooks")
    .set({ listen_expires_at: sql`now() + make_interval(secs => ${seconds})` })
    .where("id", "=", id)
    .execute();
}

/** Whether listen session `id` expires more than `seconds` from the database's now. */
export async function listenSessionExpiresAfter(store: Store, id: number, seconds: number): Promise<boolean> {
  const row = await store.db
    .selectFrom("hooks")
    .select(sql<boolean>`listen_expires_at > now() + make_interval(secs => ${seconds})`.as("later"))
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  return row.later;
}

/** Whether hook (or listen session) `id` still exists. */
export async function hookExists(store: Store, id: number): Promise<boolean> {
  return (await store.db.selectFrom("hooks").select("id").where("id", "=", id).executeTakeFirst()) !== undefined;
}

/** What a call was refused with (`kind` and `detail` of a HooklineError), or undefined when it went through. */
export function refusal(attempt: Promise<unknown>) {
  return attempt.then(
    () => undefined,
    (e: unknown) => (e instanceof HooklineError ? { kind: e.kind, detail: e.detail } : e),
  );
}

/** Polls `check` (every 25 ms) until it answers a value other than undefined; throws naming `what` after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
