import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { Agent, buildConnector, request, errors as undiciErrors } from "undici";
import type { AttemptErrorKind } from "../store/schema.js";
import { firstNonPublicAddress, isLocalName, isNonPublicAddress, literalAddressOf } from "../targets/address-policy.js";
import { dispatchTargetOf } from "./dispatch-target.js";
import { logPrefix } from "./log-prefix.js";
import type { OutgoingRequest } from "./request.js";
import { readResponseBody } from "./response-body.js";
import { failedOnStaleConnection, watchStaleConnections } from "./stale-connection.js";

/** How much of a response body is kept (and read at all) per attempt. */
export const RESPONSE_BODY_CAP_BYTES = 4096;
/**
 * The largest response header section an attempt reads (undici's
 * maxHeaderSize): 256 KiB, what browsers take, not undici's 16 KiB — a
 * receiver that processed a delivery and answered 200 with a 20 KiB cookie
 * or policy header failed the attempt, and was sent it again. Bounded all the
 * same: at most this much per attempt in flight.
 */
export const RESPONSE_HEADER_SECTION_MAX_BYTES = 256 * 1024;
/** How much of the response headers an attempt keeps (their JSON, in bytes); a header that does not fit is left out. */
export const RESPONSE_HEADERS_CAP_BYTES = 4096;

export interface AttemptResult {
  /** 2xx within the timeout. */
  ok: boolean;
  status: number | null;
  /**
   * The first RESPONSE_BODY_CAP_BYTES bytes of the body: after decoding its
   * Content-Encoding (response-body.ts), or as received with a note in
   * `error`. Any bytes at all: outcome.ts makes them storable text
   * (store/storable-text.ts).
   */
  body: Uint8Array | null;
  /** The response headers, repeated ones joined, within RESPONSE_HEADERS_CAP_BYTES (cappedHeaders); empty when no response came. */
  headers: Record<string, string>;
  errorKind: AttemptErrorKind | null;
  /** Why the attempt failed; on any attempt, also a note when the body is kept undecoded. */
  error: string | null;
  durationMs: number;
  startedAt: Date;
}

/**
 * Sends delivery requests: the one HTTP client of the worker and of pings.
 * `timeoutMs` bounds each wait (connecting, the response headers, each wait
 * for body data); `deadlineMs` bounds the whole attempt, connect to last body
 * byte. undici's timeouts alone never end a receiver that drips one byte
 * per wait (FINDINGS.md), so the deadline is its own signal. The lease must
 * outlast the deadline (config.ts checks it).
 */
export interface DeliveryTransport {
  send(request: OutgoingRequest, options: { insecureSsl: boolean; signal?: AbortSignal }): Promise<AttemptResult>;
  close(): Promise<void>;
}

/** Thrown inside the connector when a target resolves to a refused address; no socket is ever opened. */
export class RefusedTargetError extends Error {
  readonly code = "EHOOKLINE_REFUSED_TARGET";
  constructor(host: string, address: string) {
    super(`refused target: ${host} resolves to ${address}, which is not a public address (set HOOKLINE_ALLOW_PRIVATE_TARGETS=true to allow private targets)`);
    this.name = "RefusedTargetError";
  }
}

/**
 * One keep-alive Agent for every delivery (and a second that skips TLS
 * verification, for `insecure_ssl` hooks — the flag must not leak into the
 * shared pool). Unless private targets are allowed, the SSRF policy runs in
 * the connector, at connect time, on every address a name resolves to: a
 * name that passed the create-time check but now resolves to loopback (DNS
 * rebinding) is refused before any connection is made.
 *
 * Receivers that speak valid but unusual HTTP (issue 25): 1xx answers
 * nobody asked for (100, 102, 103, several in a row) are skipped for the
 * final one (RFC 9110 §15.2; undici refuses a 100 by itself, hence
 * patches/undici@7.30.2.patch); a 204 or 304 is its status whatever its
 * Content-Length says (it has no body, RFC 9112 §6.3; the same patch); a request whose reused connection the
 * receiver had closed as idle is sent once more on a fresh connection as the
 * same attempt (stale-connection.ts); a compressed answer is decoded for the
 * log within the same cap (response-body.ts).
 *
 * @example
 * const transport = createDeliveryTransport({ allowPrivateTargets: false, timeoutMs: 15_000, deadlineMs: 30_000 });
 * const result = await transport.send(buildRequest(...), { insecureSsl: false });
 */
export function createDeliveryTransport(options: {
  allowPrivateTargets: boolean;
  timeoutMs: number;
  deadlineMs: number;
  connections?: number;
  /** Resolves names in place of dns.lookup (tests choose the answer; the SSRF policy still judges it). */
  resolve?: Resolve;
}): DeliveryTransport {
  const { deadlineMs } = options;
  const lookup = options.resolve ? createGuardedLookup(options.resolve) : guardedLookup;
  const agent = (rejectUnauthorized: boolean, fresh = false) =>
    new Agent({
      connect: guardedConnector(options.allowPrivateTargets, rejectUnauthorized, options.timeoutMs, lookup),
      keepAliveTimeout: 10_000,
      headersTimeout: options.timeoutMs,
      maxHeaderSize: RESPONSE_HEADER_SECTION_MAX_BYTES,
      bodyTimeout: options.timeoutMs,
      // pipelining 0: no keep-alive, so every request gets a connection of its own.
      ...(fresh ? { pipelining: 0 } : {}),
      ...(options.connections ? { connections: options.connections } : {}),
    });
  const secure = agent(true);
  const insecure = agent(false);
  // For the one resend of a request whose reused connection the receiver had closed (stale-connection.ts).
  const freshSecure = agent(true, true);
  const freshInsecure = agent(false, true);
  watchStaleConnections();

  return {
    async send(outgoing, sendOptions) {
      const startedAt = new Date();
      const started = performance.now();
      // The per-wait timeouts are the Agent's; the whole-attempt deadline is
      // a timer of its own, joined with shutdown's signal when there is one.
      const { signal, timedOut, release } = attemptSignal(deadlineMs, sendOptions.signal);
      const target = dispatchTargetOf(outgoing.url);
      const body = outgoing.method === "POST" ? outgoing.body : null;
      const send = (fresh: boolean) => {
        const dispatcher = sendOptions.insecureSsl ? (fresh ? freshInsecure : insecure) : fresh ? freshSecure : secure;
        return target
          ? dispatcher.request({ origin: target.origin, path: target.path, method: outgoing.method, headers: outgoing.headers, body, signal })
          : request(outgoing.url, { dispatcher, method: outgoing.method, headers: outgoing.headers, body, signal });
      };
      try {
        // A reused connection that the receiver had closed as idle fails before
        // any answer: sent once more, on a connection of its own, as the same
        // attempt (same webhook-id and signature; stale-connection.ts says why that is safe).
        const response = await send(false).catch((error: unknown) => {
          if (!failedOnStaleConnection(error) || signal.aborted) throw error;
          return send(true);
        });
        const { bytes, note } = await readResponseBody(response.body, response.headers["content-encoding"], RESPONSE_BODY_CAP_BYTES);
        const ok = response.statusCode >= 200 && response.statusCode < 300;
        const error = ok ? null : `HTTP ${response.statusCode}`;
        return {
          ok,
          status: response.statusCode,
          body: bytes,
          headers: cappedHeaders(response.headers),
          errorKind: ok ? null : "status",
          error: note === undefined ? error : error === null ? note : `${error}; ${note}`,
          durationMs: Math.round(performance.now() - started),
          startedAt,
        };
      } catch (error) {
        const [errorKind, message] = timedOut() ? (["timeout", `attempt deadline of ${deadlineMs} ms exceeded`] as const) : classify(error, options.timeoutMs);
        return { ok: false, status: null, body: null, headers: {}, errorKind, error: message, durationMs: Math.round(performance.now() - started), startedAt };
      } finally {
        release();
      }
    },
    async close() {
      await Promise.all([secure, insecure, freshSecure, freshInsecure].map((a) => a.close()));
    },
  };
}

/**
 * The signal one attempt is sent with: aborted when `deadlineMs` passes
 * (`timedOut()` then says so) or when `parent` (the worker's shutdown)
 * aborts. `release()` ends both links once the attempt is over.
 *
 * A plain controller, timer and listener, not `AbortSignal.timeout` joined
 * by `AbortSignal.any`: those tie every attempt's signal to the long-lived
 * shutdown signal through weak references and a finalization registry,
 * which cost ≈20 µs of CPU an attempt (most of it the garbage collector's)
 * against ≈1.5 µs for this, and the delivery thread is the bound of a
 * drain (bench/README.md, issue 20).
 */
export function attemptSignal(deadlineMs: number, parent?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean; release: () => void } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`attempt deadline of ${deadlineMs} ms exceeded`, "TimeoutError"));
  }, deadlineMs);
  // As AbortSignal.timeout's: a pending deadline never holds the process open.
  timer.unref();
  const onParentAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    release: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

function guardedConnector(allowPrivateTargets: boolean, rejectUnauthorized: boolean, timeout: number, lookup: GuardedLookup): buildConnector.connector {
  const connect = buildConnector({
    rejectUnauthorized,
    timeout,
    ...(allowPrivateTargets ? {} : { lookup }),
  } as buildConnector.BuildOptions);
  if (allowPrivateTargets) return connect;
  return (connectOptions, callback) => {
    // net.connect does not call `lookup` for an IP literal: judge it here,
    // and local names (localhost., *.internal) whatever a resolver says.
    const literal = literalAddressOf(connectOptions.hostname);
    const refused = literal && isNonPublicAddress(literal) ? literal : isLocalName(connectOptions.hostname) ? "a local name" : undefined;
    if (refused) {
      callback(new RefusedTargetError(connectOptions.hostname, refused), null);
      return;
    }
    connect(connectOptions, callback);
  };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup's shape with `all: true`: what the connect-time lookup asks for a name's addresses. */
export type Resolve = (hostname: string, options: LookupOptions & { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * The connect-time lookup: dns.lookup (or `resolve`, for tests that choose
 * the answer), refusing when ANY resolved address is non-public
 * (firstNonPublicAddress judges the whole list).
 */
export function createGuardedLookup(resolve: Resolve = dnsLookup as Resolve): GuardedLookup {
  return function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = firstNonPublicAddress(addresses);
      if (refused) return callback(new RefusedTargetError(hostname, refused) as NodeJS.ErrnoException, []);
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

type GuardedLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

const guardedLookup = createGuardedLookup();

/** Response headers an attempt's outcome reads (outcome.ts: a 429's or 503's Retry-After), kept ahead of the others. */
const ACTED_ON_HEADERS = new Set(["retry-after"]);

/**
 * The response headers as strings (repeated ones joined by ", "), within
 * RESPONSE_HEADERS_CAP_BYTES of JSON: a header that does not fit is left
 * out and the ones after it still counted in, so one long value (a debug
 * dump) cannot drop the rest of the log, and `Retry-After` is counted in
 * first, so no number of headers ahead of it can drop it either. Built with Object.fromEntries: an assignment would drop a
 * header named `__proto__` (it sets the object's prototype instead), and a
 * receiver's header names are whatever it sends.
 */
export function cappedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: [string, string][] = [];
  let size = 2;
  // The headers the attempt acts on are counted in first: many headers ahead of them cannot crowd them out.
  const entries = Object.entries(headers);
  const actedOn = entries.filter(([name]) => ACTED_ON_HEADERS.has(name));
  for (const [name, value] of actedOn.length === 0 ? entries : [...actedOn, ...entries.filter(([name]) => !ACTED_ON_HEADERS.has(name))]) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    // The bytes of `"name":"text",` in the stored JSON, escapes included (a quote or backslash doubles, obs-text is 2 bytes).
    const entry = Buffer.byteLength(JSON.stringify(name)) + Buffer.byteLength(JSON.stringify(text)) + 2;
    if (size + entry > RESPONSE_HEADERS_CAP_BYTES) continue;
    size += entry;
    kept.push([name, text]);
  }
  return Object.fromEntries(kept);
}

function classify(error: unknown, timeoutMs: number): [AttemptErrorKind, string] {
  const err = error as NodeJS.ErrnoException & { cause?: unknown };
  const inner = (err?.cause ?? err) as NodeJS.ErrnoException;
  if (err instanceof RefusedTargetError || inner instanceof RefusedTargetError) return ["refused-target", (inner ?? err).message];
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return ["timeout", `${err.message} (${timeoutMs} ms)`];
  }
  const code = inner?.code ?? err?.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return ["dns", `${code}: ${inner.message}`];
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate|TLS|SSL/i.test(inner?.message ?? "")) {
    return ["tls", `${code || "TLS"}: ${inner?.message ?? String(error)}`];
  }
  const malformed = malformedAnswer(err, inner);
  if (malformed) return ["other", malformed];
  if (/^E(CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|PIPE|CONNABORTED)$/.test(code) || code === "UND_ERR_SOCKET") {
    return ["connection", `${code}: ${inner?.message ?? String(error)}`];
  }
  return ["other", logPrefix(inner?.message ?? String(error), 500)];
}

/**
 * What was wrong with an answer undici could not parse, in words a receiver's
 * owner can act on. llhttp's errors (HPE_*) say it already, after a prefix;
 * two answers trip an assertion in undici's response parser instead, whose
 * text quotes its source ("assert(statusCode >= 100)"): a status line below
 * 100 (`099`, `000`) and a 101 Switching Protocols without an Upgrade header;
 * with one, undici ends the socket with "bad upgrade". Neither asked-for:
 * Hookline never requests a protocol switch. Undefined for any other error.
 */
function malformedAnswer(err: NodeJS.ErrnoException, inner: NodeJS.ErrnoException): string | undefined {
  const parser = [err, inner].find((e) => e instanceof undiciErrors.HTTPParserError);
  if (parser) return `the answer is not HTTP/1.1: ${parser.message.replace(/^Response does not match the HTTP\/1\.1 protocol \((.*)\)$/s, "$1")}`;
  const switched = "the answer is 101 Switching Protocols, to a request that asked for no protocol switch (RFC 9110 §15.2.2)";
  if ([err, inner].some((e) => e?.code === "UND_ERR_SOCKET" && e.message === "bad upgrade")) return switched;
  const assertion = [err, inner].find((e) => e?.code === "ERR_ASSERTION");
  if (!assertion) return undefined;
  if (/statusCode >= 100/.test(assertion.message)) return "the answer is not HTTP/1.1: a status below 100, which HTTP does not have (RFC 9110 §15)";
  if (/assert\(upgrade\)/.test(assertion.message)) return switched;
  return `the answer could not be parsed as HTTP/1.1 (${logPrefix(assertion.message.replace(/\s+/g, " ").trim(), 200)})`;
}
