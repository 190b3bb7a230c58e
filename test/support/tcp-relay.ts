import { createServer, Socket, type AddressInfo, type Server } from "node:net";

/** A TCP relay whose link a test controls, to take a dependency away without stopping it. */
export interface TcpRelay {
  port: number;
  /** Drops every relayed connection and refuses new ones (the port closes): the peer is gone. */
  cut(): void;
  /** Drops every relayed connection and accepts new ones without ever answering: the peer hangs. */
  stall(): void;
  /** Relays again. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A relay on 127.0.0.1 to host:port. PostgreSQL behind it can be made
 * unreachable (`cut`), hanging (`stall`) and back (`restore`) without
 * touching the shared cluster.
 */
export async function startTcpRelay(host: string, port: number): Promise<TcpRelay> {
  let mode: "relay" | "cut" | "stall" = "relay";
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === "cut") return void client.destroy();
    if (mode === "stall") return;
    const upstream = new Socket();
    track(upstream);
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.connect(port, host, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const relayPort = (server.address() as AddressInfo).port;
  // Refusing (ECONNREFUSED) is what a stopped PostgreSQL does; accepting then
  // closing would look like a proxy in front of one, which postgres.js retries forever.
  const listen = () => {
    if (!server.listening) server.listen(relayPort, "127.0.0.1");
  };
  const unlisten = () => {
    if (server.listening) server.close();
  };
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port: relayPort,
    cut: () => {
      mode = "cut";
      unlisten();
      dropAll();
    },
    stall: () => {
      mode = "stall";
      listen();
      dropAll();
    },
    restore: () => {
      mode = "relay";
      listen();
    },
    close: async () => {
      mode = "cut";
      dropAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
