import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedCall {
  method: string;
  /** Path and query, e.g. /callback?x=1. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A callback endpoint on 127.0.0.1 that records every request and answers
 * with `status` (changeable while running, to make pings fail).
 *
 * @example
 * const receiver = await startCallbackReceiver();
 * const [call] = await receiver.waitForCalls(1);
 */
export async function startCallbackReceiver() {
  const calls: ReceivedCall[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      calls.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(status, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    calls,
    answerWith(next: number) {
      status = next;
    },
    /** Waits (at most `timeoutMs`) until `count` calls matching `where` arrived. */
    async waitForCalls(count: number, where: (call: ReceivedCall) => boolean = () => true, timeoutMs = 10_000): Promise<ReceivedCall[]> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const matching = calls.filter(where);
        if (matching.length >= count) return matching;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`expected ${count} calls, got ${calls.filter(where).length}: ${JSON.stringify(calls.map((c) => c.method + " " + c.url))}`);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type CallbackReceiver = Awaited<ReturnType<typeof startCallbackReceiver>>;
