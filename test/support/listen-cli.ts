import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "@hookline/server";
import { messageIdOf } from "@hookline/server/store";
import { expect, vi } from "vitest";
import { listenCommand } from "../../services/hookline/src/cli/listen-command.js";
import type { TestDatabase } from "./databases.js";
import { eventually } from "./delivery.js";
import type { TestServer } from "./server.js";

/** `hookline listen` run inside the test process (test/cli/listen-in-process*.test.ts): the local app, the command, publishing and the attempts. */

export type Arrival = { method: string; url: string; headers: IncomingHttpHeaders; body: string };

/** A local app on loopback: answers each arrival with `answer(n)` (n from 0), recording what came. */
export async function startLocalApp(answer: (n: number) => { status: number; headers?: Record<string, string>; body: Buffer | string }) {
  const arrivals: Arrival[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const { status, headers, body } = answer(arrivals.length);
      arrivals.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/in`,
    arrivals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A local app that never answers (only the CLI's Ctrl-C ends a request to it); `arrival` resolves once one has come. */
export async function startHangingApp() {
  let arrived!: () => void;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  const server = createServer((req) => {
    req.resume();
    arrived();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    arrival,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Starts the command's `run` as citty calls it against `server`; `lines` collects what it prints, `signal` calls its
 * own handler of SIGINT or SIGTERM once, `stop` is Ctrl-C (a no-op once it ended) and waits for it to end.
 */
export function runListen(server: Pick<TestServer, "url">, key: string, args: { "forward-to": string; events?: string; url?: string }) {
  const lines: string[] = [];
  const errors: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
  vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
  // The command's own Ctrl-C handler, called alone. Not process.emit("SIGINT"): signal-exit (a dependency's) listens too,
  // and when it finds itself the only listener (the command's removed) it re-raises a real SIGINT, killing the test worker.
  const runnerHandlers = new Set([...process.listeners("SIGINT"), ...process.listeners("SIGTERM")]);
  const config = loadConfig({ HOOKLINE_API_KEY: key, HOOKLINE_DATA_DIR: "memory://", LOG_LEVEL: "silent" });
  const command = listenCommand(() => config);
  const running = command.run!({ args: { _: [], url: server.url, ...args }, rawArgs: [], cmd: command } as never) as Promise<void>;
  const ended = running.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  const signal = (name: "SIGINT" | "SIGTERM") => {
    for (const handler of process.listeners(name)) if (!runnerHandlers.has(handler)) (handler as () => void)();
  };
  return {
    lines,
    errors,
    ended,
    signal,
    sessionId: async () =>
      Number(await eventually(async () => lines.join("\n").match(/listen session (\d+)/)?.[1], 10_000, "the session line")),
    async stop(name: "SIGINT" | "SIGTERM" = "SIGINT") {
      signal(name);
      const error = await ended;
      vi.restoreAllMocks();
      return error;
    },
  };
}

/** Publishes an event through the API; answers its id. */
export async function publishThrough(server: TestServer, key: string, type: string, data: unknown): Promise<number> {
  const response = await fetch(`${server.url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ type, data }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: number }).id;
}

/** The attempts at the deliveries of event `eventId`, oldest first. */
export function attemptsOfEvent(database: TestDatabase, eventId: number) {
  return database.store.db
    .selectFrom("delivery_attempts as a")
    .innerJoin("deliveries as d", "d.id", "a.delivery_id")
    .innerJoin("events as e", "e.id", "d.event_id")
    .select([
      "d.status",
      messageIdOf("d", "e").as("message_id"),
      "a.response_status",
      "a.response_body",
      "a.response_headers",
      "a.error",
      "a.error_kind",
    ])
    .where("d.event_id", "=", eventId)
    .orderBy("a.id")
    .execute();
}
