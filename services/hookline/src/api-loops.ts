import { fork, type ChildProcess } from "node:child_process";
import type { Server as HttpServer } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { channelPeers, isPeerMessage, type LoopPeers, type PeerMessage } from "./http/loop-peers.js";
import type { Config } from "./config.js";
import type { QueueReadiness } from "./delivery/queue/queue.js";
import type { Metrics } from "./metrics/metrics.js";

/** Messages between the first process and an API loop's process, besides the PeerMessages they relay. */
export type ToApiLoop = PeerMessage | { type: "start"; config: Config } | { type: "connection" } | { type: "stop" } | { type: "metrics-json"; id: number } | { type: "metrics-text"; id: number; text: string }
  | { type: "queue-check"; id: number; error: string | null };
export type FromApiLoop =
  | PeerMessage
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "metrics-json"; id: number; metrics: object[] }
  | { type: "metrics-text"; id: number }
  | { type: "queue-check"; id: number };

/** The API's event loops beyond the first process's own. */
export interface ApiLoops {
  /** This process's side of the link between the loops, for its app (createApp's `peers`). */
  peers: LoopPeers;
  /** Hands a new (paused) connection to the next loop in turn: this process's `local` server or a loop process. */
  dispatch(socket: Socket): void;
  /** Stops every loop process (each finishes its requests in flight) and waits for them to exit. */
  stop(): Promise<void>;
}

/** How long a loop process may take to stop before it is killed, beyond the shutdown grace. */
const STOP_MARGIN_MS = 5_000;

/**
 * Runs `count - 1` API loops in processes of their own beside this one's, and
 * deals connections to all `count` in turn, as node:cluster does (its
 * round-robin mode), except that this process serves too, so with two loops
 * there are two processes, not three. On Node 20 the alternatives are not
 * there: `reusePort` needs Node 22.12, and a worker thread cannot be handed a
 * socket. A process costs more memory than a thread (≈60–100 MB, bench
 * README), which is why the default is the number of cores, at most 4.
 *
 * Each loop process opens its own connection pool to PostgreSQL (PGlite is
 * one process's database: one loop there, config.ts). The loops tell each
 * other what they count and revoke (http/loop-peers.ts): this process relays
 * every loop's messages to the others. `/metrics` on any loop shows the
 * same sum: a loop process asks this one, which adds every loop's registry.
 * `/readyz` on any loop reports the same queue: a loop process asks this
 * one's (`queue`, the NATS connection and its relay live here only).
 *
 * A loop process that dies is fatal (`onFatal`), as the worker thread is: the
 * supervisor restarts the server.
 *
 * @example
 * const loops = await startApiLoops({ config, local: httpServer, logger, metrics, onFatal });
 * net.createServer({ pauseOnConnect: true }, loops.dispatch);
 */
export async function startApiLoops(options: {
  config: Config;
  local: HttpServer;
  logger: Logger;
  metrics: Metrics;
  /** The delivery queue /readyz reports (the NATS queue); absent: loops report none. */
  queue?: QueueReadiness;
  onFatal: (error: Error) => void;
}): Promise<ApiLoops> {
  const { logger, metrics } = options;
  const children: ChildProcess[] = [];
  let stopping = false;
  let nextId = 0;
  const waiting = new Map<number, (metrics: object[]) => void>();

  const peers = channelPeers((message) => {
    for (const child of children) sendTo(child, message);
  }, options.config.apiProcesses);

  function sendTo(child: ChildProcess, message: ToApiLoop, socket?: Socket): void {
    if (!child.connected) return;
    try {
      child.send(message, socket as never, { keepOpen: false }, (error) => {
        if (error && socket) socket.destroy();
      });
    } catch {
      socket?.destroy();
    }
  }

  function handle(child: ChildProcess, message: FromApiLoop): void {
    if (isPeerMessage(message)) {
      // Heard here, and relayed to every other loop process.
      peers.receive(message);
      for (const other of children) if (other !== child) sendTo(other, message);
    } else if (message.type === "metrics-json") {
      waiting.get(message.id)?.(message.metrics);
      waiting.delete(message.id);
    } else if (message.type === "metrics-text") {
      void metrics
        .refreshQueue()
        .catch(() => {})
        .then(() => metrics.render())
        .then((text) => sendTo(child, { type: "metrics-text", id: message.id, text }));
    } else if (message.type === "queue-check") {
      const answer = (error: string | null) => sendTo(child, { type: "queue-check", id: message.id, error });
      if (!options.queue) answer(null);
      else options.queue.check().then(() => answer(null), (error: unknown) => answer(error instanceof Error ? error.message : String(error)));
    }
  }

  try {
    for (let i = 1; i < options.config.apiProcesses; i++) children.push(await spawnLoop(options.config, handle));
  } catch (error) {
    for (const child of children) child.kill("SIGKILL");
    throw error;
  }

  for (const child of children) {
    metrics.addSource(
      () =>
        new Promise((resolve) => {
          const id = nextId++;
          waiting.set(id, resolve);
          sendTo(child, { type: "metrics-json", id });
          setTimeout(() => waiting.delete(id) && resolve([]), 2_000).unref();
        }),
    );
    child.on("exit", (code, signal) => {
      if (stopping) return;
      logger.fatal({ code, signal }, "an API loop process exited");
      options.onFatal(new Error(`an API loop process exited (${code ?? signal})`));
    });
  }

  // Round robin over this process (slot 0) and the loop processes.
  let turn = 0;
  return {
    peers,
    dispatch(socket) {
      const slot = turn;
      turn = (turn + 1) % (children.length + 1);
      const child = children[slot - 1];
      if (stopping || !child?.connected) {
        options.local.emit("connection", socket);
        socket.resume();
        return;
      }
      sendTo(child, { type: "connection" }, socket);
    },
    async stop() {
      stopping = true;
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          sendTo(child, { type: "stop" });
          const timer = setTimeout(() => child.kill("SIGKILL"), options.config.delivery.shutdownGraceMs + STOP_MARGIN_MS);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

/** Forks one loop process (the built entry, or the source one through tsx) and waits for it to be ready. */
function spawnLoop(config: Config, handle: (child: ChildProcess, message: FromApiLoop) => void): Promise<ChildProcess> {
  const source = import.meta.url.endsWith(".ts");
  const entry = new URL(`./api-loop-entry${source ? ".ts" : ".mjs"}`, import.meta.url);
  // The loader flags this process runs with (tsx from source) are what the child needs too.
  const execArgv = source && !process.execArgv.some((arg) => arg.includes("tsx")) ? [...process.execArgv, "--import", "tsx"] : process.execArgv;
  // "advanced": the config's Buffers (main keys) cross as they are, as to the worker thread.
  const child = fork(entry, [], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
  child.send({ type: "start", config } satisfies ToApiLoop);
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`an API loop process exited (${code ?? signal}) while starting`));
    child.once("exit", onExit);
    child.once("error", reject);
    child.on("message", (message: FromApiLoop) => {
      if (message.type === "ready") {
        child.off("exit", onExit);
        resolve(child);
      } else if (message.type === "failed") {
        reject(new Error(`an API loop process could not start: ${message.message}`));
      } else {
        handle(child, message);
      }
    });
  });
}
