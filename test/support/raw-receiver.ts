import { type AddressInfo, createServer, type Socket } from "node:net";

/** One request as a raw receiver read it off its connection. */
export interface RawRequest {
  head: string;
  body: string;
  /** Which connection (0, 1, …) and which request on it (0 = the connection's first). */
  connection: number;
  onConnection: number;
  webhookId: string | undefined;
}

/**
 * A receiver that writes whatever bytes `answer` returns (Node's http server
 * cannot send most of these: an unasked 100, raw deflate, a close instead of
 * an answer). `answer` returns the bytes, "close" / "reset" to end the
 * connection without a byte of answer, or `{ thenClose }`: bytes, then the end.
 */
export async function rawReceiver(answer: (request: RawRequest) => string | Buffer | "close" | "reset" | { thenClose: string }) {
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    const connection = connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = Buffer.alloc(0);
    let onConnection = 0;
    socket.on("data", (data) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = pending.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const body = pending.subarray(end + 4, end + 4 + length).toString("utf8");
        pending = pending.subarray(end + 4 + length);
        const request = { head, body, connection, onConnection: onConnection++, webhookId: /\r\nwebhook-id: *(\S+)/i.exec(head)?.[1] };
        requests.push(request);
        const reply = answer(request);
        if (reply === "close") return void socket.end();
        if (reply === "reset") return void socket.resetAndDestroy();
        if (typeof reply === "object" && "thenClose" in reply) return void socket.end(reply.thenClose);
        socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    requests,
    get connections() {
      return connections;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
