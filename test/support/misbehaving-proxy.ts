import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the proxy does with one request. */
export type ProxyAction =
  /** Pass it on and give back the answer unchanged. */
  | { kind: "forward" }
  /** Pass it on, read the whole answer, then close the client's connection without a byte: the answer is lost. */
  | { kind: "drop-after-forward" }
  /** Do not pass it on; answer this instead (what a load balancer or proxy sends). */
  | { kind: "answer"; status: number; headers?: Record<string, string>; body?: string }
  /** Pass it on and change the answer (headers, body) before it goes back. */
  | { kind: "rewrite"; rewrite: (answer: ProxyAnswer) => ProxyAnswer }
  /** Pass it on, send the answer's headers and half its body, then close: the body is cut off. */
  | { kind: "cut-body" };

export interface ProxyAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface SeenRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  /** The upstream's answer status, when the request was passed on. */
  upstreamStatus?: number;
  replayed?: boolean;
}

export interface MisbehavingProxy {
  url: string;
  seen: SeenRequest[];
  /** Decides each request's fate; the default forwards everything. */
  plan: (request: { method: string; path: string; index: number }) => ProxyAction;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"]);

/**
 * An HTTP proxy on 127.0.0.1 in front of `upstream` that misbehaves on
 * command, as load balancers and flaky networks do: it loses answers after
 * the upstream acted, answers itself (an empty 503, an HTML 502), truncates
 * bodies and rewrites headers. Every request it saw is recorded.
 */
export async function startMisbehavingProxy(upstream: string): Promise<MisbehavingProxy> {
  const proxy: MisbehavingProxy = {
    url: "",
    seen: [],
    plan: () => ({ kind: "forward" }),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    void handle(proxy, upstream, req, res).catch((error) => {
      res.destroy(error as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

async function handle(proxy: MisbehavingProxy, upstream: string, req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const path = req.url ?? "/";
  const method = req.method ?? "GET";
  const key = req.headers["idempotency-key"];
  const seen: SeenRequest = { method, path, idempotencyKey: typeof key === "string" ? key : undefined };
  const action = proxy.plan({ method, path, index: proxy.seen.length });
  proxy.seen.push(seen);

  if (action.kind === "answer") {
    res.writeHead(action.status, action.headers ?? {});
    res.end(action.body ?? "");
    return;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name) && typeof value === "string") headers[name] = value;
  }
  const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
  const answer = await fetch(upstream + path, { method, headers, body: body ?? null });
  let forwarded: ProxyAnswer = { status: answer.status, headers: {}, body: await answer.text() };
  answer.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) forwarded.headers[name] = value;
  });
  seen.upstreamStatus = answer.status;
  seen.replayed = answer.headers.get("idempotent-replayed") === "true";

  if (action.kind === "drop-after-forward") {
    req.socket.destroy();
    return;
  }
  if (action.kind === "rewrite") forwarded = action.rewrite(forwarded);
  if (action.kind === "cut-body") {
    const bytes = Buffer.from(forwarded.body);
    res.writeHead(forwarded.status, { ...forwarded.headers, "content-length": String(bytes.length) });
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => req.socket.destroy());
    return;
  }
  res.writeHead(forwarded.status, { ...forwarded.headers, "content-length": String(Buffer.byteLength(forwarded.body)) });
  res.end(forwarded.body);
}
