import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { AuthenticatedAccount } from "../domain/account.js";
import { HooklineError, notFound } from "../domain/errors.js";
import { publishOperationalEvents } from "../events/operational-events.js";
import { DEFAULT_RETRIES } from "../hooks/hook-input.js";
import type { Metrics } from "../metrics/metrics.js";
import { cachedOpener, type SecretBox } from "../signing/secret-box.js";
import { generateSigningSecret } from "../signing/secret.js";
import type { ClaimedDelivery } from "../store/claim-deliveries.js";
import type { Store } from "../store/database.js";
import { DELIVERIES_CHANNEL } from "../store/events.js";
import { deleteHook, reserveHookId } from "../store/hooks.js";
import * as sessions from "../store/listen-sessions.js";
import { recordOutcomes, type DeliveryOutcome } from "../store/record-outcomes.js";
import { releaseDeliveries } from "../store/release-deliveries.js";
import { attemptDelivery } from "./attempt.js";
import type { OutgoingRequest } from "./request.js";
import { cappedHeaders, RESPONSE_BODY_CAP_BYTES, type AttemptResult, type DeliveryTransport } from "./transport.js";
import { createWaker } from "./waker.js";
import { tracedClaim } from "../tracing/traced-claim.js";

/** Deliveries one session may have outstanding (sent to its stream, no result yet). */
export const LISTEN_MAX_OUTSTANDING = 16;
/** How often an open stream sends a keep-alive comment (and at most how long it leaves its session's expiry unmoved). */
export const LISTEN_KEEP_ALIVE_MS = 15_000;
/** How often a stream looks for due deliveries without a NOTIFY (retries falling due). */
const LISTEN_POLL_MS = 1_000;

/** One delivery as the stream hands it to the client: the signed request a hook would get. */
export interface ListenDeliveryMessage {
  delivery_id: number;
  message_id: string;
  event_type: string;
  /** 1 for the first attempt. */
  attempt: number;
  method: "POST" | "GET";
  headers: Record<string, string>;
  /** The exact text the signature covers. */
  body: string;
}

/** What the client reports for one delivery (the `ListenResult` of the spec). */
export interface ListenResult {
  delivery_id: number;
  status: number | null;
  headers?: Record<string, string> | undefined;
  body?: string | null | undefined;
  /** The body's exact bytes in base64; taken over `body` when both are given. */
  body_base64?: string | null | undefined;
  duration_ms: number;
  error?: string | null | undefined;
}

/** Where a stream writes; `signal` aborts when the client goes away. */
export interface ListenSink {
  delivery(message: ListenDeliveryMessage): Promise<void>;
  keepAlive(): Promise<void>;
  readonly signal: AbortSignal;
}

export interface ListenSessions {
  create(
    account: AuthenticatedAccount,
    input: { events?: string[] | undefined; forward_to?: string | undefined },
  ): Promise<{ id: number; events: string[]; secret: string; expires_at: string }>;
  /**
   * Checks the session is the account's (throws `not-found`) and answers a
   * function that runs its stream until the sink's signal aborts or the
   * session ends. The new stream takes the session over: older streams of it
   * here end, and `elsewhere` is told to end those of other processes.
   */
  open(account: AuthenticatedAccount, id: number, elsewhere?: (sessionId: number) => void): Promise<(sink: ListenSink) => Promise<void>>;
  /** Ends this process's streams of a session another process's newer stream took over (their held deliveries released). */
  yieldSession(id: number): void;
  /**
   * Hands a result to the stream waiting for it and resolves once the attempt
   * is recorded. A stream of this process is tried first, then `elsewhere`
   * (the other API loops, which answer true once one of theirs recorded it);
   * `not-found` when no stream waits for it.
   */
  record(account: AuthenticatedAccount, id: number, result: ListenResult, elsewhere?: ForwardListenResult): Promise<void>;
  /** Hands a result to this process's stream waiting for it: true once the attempt is recorded, false when none here waits for it. */
  take(accountId: string, id: number, result: ListenResult): Promise<boolean>;
  remove(account: AuthenticatedAccount, id: number): Promise<void>;
  /** Ends every open stream (their held deliveries released): part of a graceful stop. */
  close(): Promise<void>;
}

/** Hands a listen result to another process's stream of session `sessionId`: true once it is recorded there, false when none holds it. */
export type ForwardListenResult = (accountId: string, sessionId: number, result: ListenResult) => Promise<boolean>;

interface Waiting {
  sessionId: number;
  accountId: string;
  resolve(result: AttemptResult): void;
  recorded: Promise<void>;
}

/**
 * `hookline listen`'s server side (PRODUCT §11). A session is a hook of the
 * account that no worker claims (store/listen-sessions.ts). The API process
 * holding the session's stream claims its deliveries itself and sends each
 * through attempt.ts exactly as a worker does — same signed request, same
 * outcome rules, retries and breaker — except that the "transport" writes
 * the request to the stream and waits for the client to post the local
 * app's answer. A result that lands on another API loop of the same server
 * is handed to the loop holding the stream (`record`'s `elsewhere`, over
 * http/loop-peers.ts); behind a load balancer spreading over several
 * servers, one that lands on a server without the stream is answered 404 and
 * the delivery is sent again when its lease runs out (use sticky sessions).
 *
 * @example
 * const listen = createListenSessions({ store, config, secrets, logger });
 * const run = await listen.open(account, id); await run(sink);
 */
export function createListenSessions(deps: {
  store: Store;
  config: Config;
  secrets: SecretBox;
  logger: Logger;
  metrics?: Metrics | undefined;
}): ListenSessions {
  const { store, config, logger } = deps;
  const db = store.db;
  const delivery = config.delivery;
  const openSecret = cachedOpener(deps.secrets);
  const waiting = new Map<number, Waiting>();
  const streams = new Set<{ sessionId: number; wake(): void; stop: AbortController; done: Promise<void> }>();
  let unlisten: Promise<(() => Promise<void>) | undefined> | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  // Set by close(): from then on nothing new may start on the store, which closes next.
  let closed = false;
  let sweeping: Promise<void> | undefined;
  const stopping = () => new HooklineError("unavailable", "Hookline is stopping; reconnect in a moment.", undefined, 1);

  /** One NOTIFY subscription and one expiry sweep per process, from the first stream on. */
  function startShared(): void {
    if (closed) return;
    unlisten ??= store
      .listen(DELIVERIES_CHANNEL, () => {
        for (const stream of streams) stream.wake();
      })
      .catch((error) => {
        logger.warn({ err: error }, "listen streams: no NOTIFY; polling only");
        return undefined;
      });
    sweepTimer ??= setInterval(() => (sweeping ??= sweep().finally(() => (sweeping = undefined))), Math.min(60_000, (config.listenSessionTtlSeconds * 1000) / 2)).unref();
  }

  async function sweep(): Promise<void> {
    try {
      const deleted = await sessions.deleteExpiredListenSessions(db);
      if (deleted > 0) logger.info({ sessions: deleted }, "deleted expired listen sessions");
    } catch (error) {
      logger.warn({ err: error }, "deleting expired listen sessions failed");
    }
  }

  async function owned(account: AuthenticatedAccount, id: number) {
    const session = await sessions.findListenSession(db, account.id, id);
    if (!session) throw notFound(`No listen session ${id} in this account.`);
    return session;
  }

  async function record(lockedBy: string, outcome: DeliveryOutcome): Promise<void> {
    // As the worker does: a failure may disable the hook or exhaust the delivery, announced in the same
    // transaction. One transaction whatever the outcome: a listen stream's pace is one person's app.
    await db.transaction().execute(async (trx) => publishOperationalEvents(trx, await recordOutcomes(trx, lockedBy, [outcome], delivery)));
    deps.metrics?.deliveries.inc({ outcome: outcome.outcome });
  }

  function runStream(sessionId: number, accountId: string, elsewhere?: (sessionId: number) => void) {
    return async (sink: ListenSink): Promise<void> => {
      // Opened as the server began to stop: close() has already ended the streams it knew of.
      if (closed) return;
      const lockedBy = `listen:${sessionId}:${randomBytes(6).toString("hex")}`;
      const waker = createWaker();
      const stop = new AbortController();
      const ended = AbortSignal.any([stop.signal, sink.signal]);
      // Listening on `ended`: each delivery outstanding (its send's abort) and the loop's wake below.
      setMaxListeners(LISTEN_MAX_OUTSTANDING + 1, ended);
      let finish!: () => void;
      const entry = { sessionId, wake: waker.wake, stop, done: new Promise<void>((resolve) => (finish = resolve)) };
      // The client reconnected (perhaps to another loop): a stream it left may not have noticed yet, and
      // would go on claiming the session's deliveries and catching the results meant for this one.
      yieldSession(sessionId);
      elsewhere?.(sessionId);
      streams.add(entry);
      ended.addEventListener("abort", () => waker.wake());
      startShared();
      const inFlight = new Set<Promise<void>>();

      /** The stream as a transport: the request goes to the client, the answer comes back through `record`. */
      const transportFor = (row: ClaimedDelivery, recorded: Promise<void>): DeliveryTransport => ({
        async send(request: OutgoingRequest, options) {
          const startedAt = new Date();
          let timer: NodeJS.Timeout | undefined;
          let streamClosed!: () => void;
          const answer = new Promise<AttemptResult>((resolve) => {
            waiting.set(row.id, { sessionId, accountId, resolve, recorded });
            timer = setTimeout(
              () => resolve(failure(startedAt, "timeout", `no result from the listen client within ${delivery.attemptDeadlineMs} ms`)),
              delivery.attemptDeadlineMs,
            );
            streamClosed = () => resolve(failure(startedAt, "connection", "the listen stream closed"));
            options.signal?.addEventListener("abort", streamClosed);
          });
          sink
            .delivery({
              delivery_id: row.id,
              message_id: row.message_id,
              event_type: row.event_type,
              attempt: row.attempts + 1,
              method: request.method,
              headers: request.headers,
              body: request.body,
            })
            .catch(() => stop.abort());
          const result = await answer;
          clearTimeout(timer);
          // The stream's signal outlives this delivery: a listener left on it per delivery would pile up for the stream's life.
          options.signal?.removeEventListener("abort", streamClosed);
          return result;
        },
        close: async () => {},
      });

      async function attempt(row: ClaimedDelivery): Promise<void> {
        // The poster of the result is answered once the attempt is in the database.
        let markRecorded!: () => void;
        const recorded = new Promise<void>((resolve) => (markRecorded = resolve));
        try {
          const end = await attemptDelivery(row, {
            transport: transportFor(row, recorded),
            config: delivery,
            shutdown: ended,
            metrics: deps.metrics,
            openSecret,
          });
          // A release means the stream is ending: its end hands back everything it holds (below).
          if ("outcome" in end) await record(lockedBy, end.outcome);
        } catch (error) {
          logger.error({ err: error, delivery: row.id }, "listen attempt failed; the delivery is sent again");
          await releaseDeliveries(db, lockedBy, [row.id]).catch(() => {});
        } finally {
          waiting.delete(row.id);
          markRecorded();
          waker.wake();
        }
      }

      try {
        // A new stream takes the session over: what an older one held (its client is gone) is due again now.
        await sessions.releaseListenDeliveries(db, sessionId);
        let nextKeepAlive = Date.now() + LISTEN_KEEP_ALIVE_MS;
        // Only a session with no open stream may expire: its expiry moves at once (the stream may open a
        // moment before it) and a few times per TTL, which may be shorter than the keep-alive.
        const touchEveryMs = Math.min(LISTEN_KEEP_ALIVE_MS, (config.listenSessionTtlSeconds * 1000) / 3);
        let nextTouch = Date.now();
        while (!ended.aborted) {
          waker.clear();
          if (Date.now() >= nextTouch) {
            nextTouch = Date.now() + touchEveryMs;
            if (!(await sessions.touchListenSession(db, sessionId, config.listenSessionTtlSeconds))) break;
          }
          if (Date.now() >= nextKeepAlive) {
            nextKeepAlive = Date.now() + LISTEN_KEEP_ALIVE_MS;
            await sink.keepAlive().catch(() => stop.abort());
          }
          const rows = await tracedClaim(db, { "hookline.listen_session.id": sessionId }, () =>
            sessions.claimListenDeliveries(db, sessionId, lockedBy, LISTEN_MAX_OUTSTANDING, delivery.leaseMs),
          );
          for (const row of rows) {
            const running = attempt(row);
            inFlight.add(running);
            void running.finally(() => inFlight.delete(running));
          }
          // The poll is well inside both intervals (the touch's is ≥ 1.67 s, the TTL being ≥ 5 s): each is
          // at most a poll late.
          await waker.sleep(LISTEN_POLL_MS);
        }
      } catch (error) {
        logger.warn({ err: error, session: sessionId }, "listen stream failed");
      } finally {
        stop.abort();
        await Promise.allSettled([...inFlight]);
        await sessions.releaseListenDeliveries(db, sessionId, lockedBy).catch(() => {});
        streams.delete(entry);
        finish();
      }
    };
  }

  function yieldSession(id: number): void {
    for (const stream of streams) if (stream.sessionId === id) stream.stop.abort();
  }

  async function take(accountId: string, id: number, result: ListenResult): Promise<boolean> {
    const entry = waiting.get(result.delivery_id);
    if (!entry || entry.sessionId !== id || entry.accountId !== accountId) return false;
    waiting.delete(result.delivery_id);
    entry.resolve(resultOf(result));
    await entry.recorded;
    return true;
  }

  return {
    async create(account, input) {
      if (closed) throw stopping();
      const id = await reserveHookId(db);
      const secret = generateSigningSecret();
      const events = input.events ?? ["*"];
      const row = await sessions.insertListenHook(db, {
        id,
        account_id: account.id,
        events,
        name: `hookline listen${input.forward_to ? ` → ${input.forward_to}` : ""}`.slice(0, 256),
        sealedSecret: deps.secrets.seal(id, secret),
        retries: DEFAULT_RETRIES,
        ttlSeconds: config.listenSessionTtlSeconds,
      });
      startShared();
      return { id, events, secret, expires_at: row.listen_expires_at!.toISOString() };
    },
    async open(account, id, elsewhere) {
      if (closed) throw stopping();
      await owned(account, id);
      return runStream(id, account.id, elsewhere);
    },
    yieldSession,
    take,
    async record(account, id, result, elsewhere) {
      if (await take(account.id, id, result)) return;
      if (elsewhere && (await elsewhere(account.id, id, result))) return;
      await owned(account, id);
      throw notFound(`Delivery ${result.delivery_id} is not waiting for a result on an open stream of listen session ${id}; it is sent again.`);
    },
    async remove(account, id) {
      await owned(account, id);
      yieldSession(id);
      if (!(await deleteHook(db, account.id, id, "listen session"))) throw notFound(`No listen session ${id} in this account.`);
    },
    async close() {
      closed = true;
      clearInterval(sweepTimer);
      for (const stream of streams) stream.stop.abort();
      await Promise.all([...streams].map((s) => s.done));
      await sweeping;
      const stopListening = await unlisten;
      await stopListening?.().catch(() => {});
    },
  };
}

function failure(startedAt: Date, errorKind: "timeout" | "connection", error: string): AttemptResult {
  return { ok: false, status: null, body: null, headers: {}, errorKind, error, durationMs: Date.now() - startedAt.getTime(), startedAt };
}

/** The client's report as an attempt result, capped as the transport caps a receiver's answer. */
function resultOf(result: ListenResult): AttemptResult {
  const ok = result.status !== null && result.status >= 200 && result.status < 300;
  // Bytes, as the transport hands a receiver's answer on: outcome.ts makes them storable text.
  const bytes = result.body_base64 != null ? Buffer.from(result.body_base64, "base64") : result.body != null ? Buffer.from(result.body) : null;
  const body = bytes === null ? null : new Uint8Array(bytes.subarray(0, RESPONSE_BODY_CAP_BYTES));
  return {
    ok,
    status: result.status,
    body: result.status === null ? null : body,
    headers: result.status === null ? {} : cappedHeaders(result.headers ?? {}),
    errorKind: ok ? null : result.status !== null ? "status" : "connection",
    error: ok ? null : result.status !== null ? `HTTP ${result.status}` : `not forwarded: ${result.error ?? "no answer"}`.slice(0, 1024),
    durationMs: result.duration_ms,
    startedAt: new Date(Date.now() - result.duration_ms),
  };
}
