import { createMemoryDedupe, type DedupeStore } from "./dedupe.js";
import {
  PayloadTooLargeError,
  ReceiverConfigurationError,
  ReceiverOptionError,
  WebhookPayloadError,
  WebhookVerificationError,
} from "./errors.js";
import { parse, type EventPayloads, type EventType, type GenericEvent, type HooklineEvent } from "./events.js";
import { acknowledged, problem, type ReceiverResponse } from "./problem.js";
import { queryPayload } from "./query-payload.js";
import type { RawBody } from "./hmac.js";
import { createVerifier, readHeader, type HeadersInput, type VerifyOptions } from "./verify.js";

export type { ReceiverResponse } from "./problem.js";

/** An event as handlers see it: the parsed event plus its `webhook-id` and timestamp. */
export type ReceivedEvent<E extends HooklineEvent = HooklineEvent> = E & { id: string; timestamp: number };
/** The event a handler registered with `on(type)` receives. */
export type EventFor<T extends string> = T extends EventType
  ? ReceivedEvent<{ type: T; data: EventPayloads[T] }>
  : ReceivedEvent<GenericEvent>;
export type Handler<E> = (event: E) => unknown;

/** One delivery as a middleware hands it over: the raw body, or for a GET delivery the raw query string. */
export type DeliveredRequest = { headers: HeadersInput; body: RawBody; query?: string | undefined };

export type ReceiverOptions = VerifyOptions & {
  /** The hook's secret, or several while a rotation is under way. */
  secret: string | string[];
  /** Drops retried deliveries by `webhook-id`; in-memory by default, `false` to turn off. */
  dedupe?: DedupeStore | false;
  /** Larger bodies are answered 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Called when a handler throws (the delivery is answered 500 and retried). Default: console.error. */
  onError?: (error: unknown, event: ReceivedEvent) => void;
};

export type Receiver = {
  /** Registers a handler for one event type, or `"*"` for every event. */
  on<T extends EventType | "*" | (string & {})>(
    type: T,
    handler: Handler<T extends "*" ? ReceivedEvent : EventFor<T>>,
  ): Receiver;
  /** Verifies, parses, drops duplicates and dispatches one request. Never throws. */
  handle(request: DeliveredRequest): Promise<ReceiverResponse>;
  /**
   * Turns an error met before `handle` (body too large, wiring mistake) into
   * an answer. Given the request's headers, a wiring mistake (raw body gone)
   * is answered 500 only when the headers could belong to a genuine message:
   * a forged or malformed one gets its 401 as usual.
   */
  reject(error: Error, headers?: HeadersInput): ReceiverResponse;
  readonly maxBodyBytes: number;
};

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * The framework-neutral core every middleware wraps: verify → parse →
 * de-duplicate → dispatch, answering 401 / 400 / 200 (and 500 when a handler
 * throws, so Hookline retries).
 *
 * @example
 * const receiver = createReceiver({ secret: process.env.HOOKLINE_SECRET! })
 *   .on("PostDeployment", (e) => console.log(e.data.status))
 *   .on("channel_destroy", (e) => console.log(e.data.hangup_cause));
 */
export function createReceiver(options: ReceiverOptions): Receiver {
  if (typeof options !== "object" || options === null) {
    throw new ReceiverOptionError("options", "createReceiver needs an options object with the hook's `secret`");
  }
  const verifier = createVerifier(options.secret, options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new ReceiverOptionError("maxBodyBytes", `must be a positive whole number of bytes, got ${String(maxBodyBytes)}`);
  }
  const store = options.dedupe === false ? undefined : (options.dedupe ?? createMemoryDedupe());
  const onError = options.onError ?? ((error) => console.error("Hookline webhook handler failed", error));
  const handlers = new Map<string, Handler<ReceivedEvent>[]>();
  // Ids being handled right now: a concurrent retry must not run the handler twice.
  const inFlight = new Set<string>();

  async function dispatch(event: ReceivedEvent): Promise<void> {
    for (const handler of [...(handlers.get(event.type) ?? []), ...(handlers.get("*") ?? [])]) {
      await handler(event);
    }
  }

  async function handle({ headers, body, query }: DeliveredRequest): Promise<ReceiverResponse> {
    let event: ReceivedEvent;
    try {
      // A GET delivery carries its fields in the query string, which its signature covers instead of a body.
      const signed = query ?? body;
      const { id, timestamp } = await verifier.verifyAsync({ headers, body: signed });
      const type = readHeader(headers, "hookline-event-type");
      if (!type) throw new WebhookPayloadError("missing_event_type", "Missing hookline-event-type header");
      event = { ...parse(type, query === undefined ? body : JSON.stringify(queryPayload(query))), id, timestamp };
    } catch (error) {
      return receiver.reject(error as Error);
    }
    if (inFlight.has(event.id)) {
      return problem(409, "in_flight", `Message ${event.id} is being handled; retry later`);
    }
    inFlight.add(event.id);
    try {
      if (store && (await store.seen(event.id))) return acknowledged(true);
      await dispatch(event);
      await store?.remember(event.id);
      return acknowledged(false);
    } catch (error) {
      onError(error, event);
      return problem(500, "handler_failed", "The webhook handler failed; the delivery will be retried");
    } finally {
      inFlight.delete(event.id);
    }
  }

  const receiver: Receiver = {
    maxBodyBytes,
    on(type, handler) {
      const list = handlers.get(type) ?? [];
      list.push(handler as Handler<ReceivedEvent>);
      handlers.set(type, list);
      return receiver;
    },
    handle,
    reject(error, headers) {
      if (error instanceof ReceiverConfigurationError && headers) {
        try {
          verifier.checkHeaders(headers);
        } catch (headerError) {
          if (headerError instanceof WebhookVerificationError) return receiver.reject(headerError);
        }
      }
      if (error instanceof WebhookVerificationError) return problem(401, error.code, error.message);
      if (error instanceof WebhookPayloadError) return problem(400, error.code, error.message, { errors: error.issues });
      if (error instanceof PayloadTooLargeError) return problem(413, "payload_too_large", error.message);
      if (error instanceof ReceiverConfigurationError) return problem(500, "receiver_misconfigured", error.message);
      return problem(500, "internal_error", "Unexpected webhook receiver error");
    },
  };
  return receiver;
}
