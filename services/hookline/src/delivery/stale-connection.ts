import { subscribe } from "node:diagnostics_channel";
import type { Socket } from "node:net";

/**
 * Tells a request that failed on a reused keep-alive connection before any
 * byte of its response arrived — the receiver closed the connection as idle
 * while our request was on its way (`other side closed`, ECONNRESET, EPIPE) —
 * from every other failure. Such a request never reached the receiver's
 * application (it closed the connection instead of reading it), so sending
 * it again on a fresh connection cannot duplicate it; undici itself never
 * retries a POST. Anything else — a fresh connection that fails (the receiver
 * may have crashed while handling it), a response cut off after its first
 * byte — is an attempt that failed.
 *
 * undici's diagnostics channels name the socket each request is written to
 * (`undici:client:sendHeaders`) and each request's error
 * (`undici:request:error`, published before the caller sees the error): the
 * socket's earlier requests say whether it was reused, its `bytesRead`
 * (cleartext bytes, on TLS too) whether any response byte arrived since.
 */
const requestsOnSocket = new WeakMap<Socket, number>();
const sent = new WeakMap<object, { socket: Socket; bytesRead: number; reused: boolean }>();
const staleErrors = new WeakSet<object>();

const CLOSED_BEFORE_ANSWER = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

let subscribed = false;

/** Starts watching undici's requests (once per thread; cheap: two WeakMap writes per request). */
export function watchStaleConnections(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe("undici:client:sendHeaders", (message) => {
    const { request, socket } = message as { request: object; socket: Socket };
    const earlier = requestsOnSocket.get(socket) ?? 0;
    requestsOnSocket.set(socket, earlier + 1);
    sent.set(request, { socket, bytesRead: socket.bytesRead, reused: earlier > 0 });
  });
  subscribe("undici:request:error", (message) => {
    const { request, error } = message as { request: object; error: unknown };
    const start = sent.get(request);
    if (!start?.reused || start.socket.bytesRead !== start.bytesRead) return;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof error === "object" && error !== null && typeof code === "string" && CLOSED_BEFORE_ANSWER.has(code)) staleErrors.add(error);
  });
}

/** True when `error` ended a request on a reused connection before any response byte (watchStaleConnections). */
export function failedOnStaleConnection(error: unknown): boolean {
  return typeof error === "object" && error !== null && staleErrors.has(error);
}
