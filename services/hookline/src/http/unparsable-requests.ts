import type { ServerType } from "@hono/node-server";
import type { Socket } from "node:net";
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody } from "./problem.js";

/**
 * Answers a request that Node's HTTP parser refuses (a header line without a
 * colon, a Content-Length that is no number, bytes left by a wrong
 * Content-Length that are no request) with a 400 `application/problem+json`,
 * as every other bad input is answered, instead of Node's bare
 * `400 Bad Request` with no body. The parser's other answers stay Node's own
 * (431 for oversized headers, 408 for a request that took too long), and
 * nothing is written on a connection that has already sent bytes of an
 * answer; the connection is closed either way, since the parser cannot find
 * the next request on it.
 *
 * @example
 * const server = serve({ fetch: app.fetch, port });
 * answerUnparsableRequests(server);
 */
export function answerUnparsableRequests(server: ServerType): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && socket.bytesWritten === 0) socket.write(answerFor(error));
    socket.destroy(error);
  });
}

/** What Node itself answers for these (lib/_http_server.js), kept as they are. */
const NODE_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
  ERR_HTTP_REQUEST_TIMEOUT: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
};

function answerFor(error: NodeJS.ErrnoException): string {
  const nodes = error.code === undefined ? undefined : NODE_ANSWERS[error.code];
  if (nodes) return nodes;
  const reason = (error as { reason?: unknown }).reason;
  const detail = `The request is not valid HTTP/1.1${typeof reason === "string" ? `: ${reason}` : ""} (${error.code ?? "parse error"}).`;
  const body = JSON.stringify(problemBody(new ProblemError("malformed-request", detail)));
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
