import { randomUUID } from "node:crypto";
import type { ForwardListenResult, ListenResult } from "../delivery/listen-sessions.js";

/**
 * What the API's event loops (one process each, api-loops.ts) tell each
 * other so that per-process state stays right across them: requests counted
 * against a key's budgets, failed authentications per client address, keys
 * revoked, listen results for the loop holding their session's stream
 * (`ask` names the question, `held` answers it), and listen streams opened
 * (a session's newest stream takes it over from older ones on other loops). One loop's message reaches
 * every other loop (the first process relays).
 */
export type PeerMessage =
  | { type: "counts"; counts: Array<[budget: CountedBudget, key: string, hits: number]> }
  | { type: "forget"; keyHash: string }
  | { type: "listen-result"; ask: string; accountId: string; sessionId: number; result: ListenResult }
  | { type: "listen-taken"; ask: string; held: boolean }
  | { type: "listen-stream"; sessionId: number };

const PEER_MESSAGES = new Set<unknown>(["counts", "forget", "listen-result", "listen-taken", "listen-stream"] satisfies PeerMessage["type"][]);

/** The counters shared: a key's two budgets and the failed-authentication count of an address. */
export type CountedBudget = "requests" | "publish" | "failed-auth";

/** How often counted requests are sent to the other loops, in ms: the bound on how late they see them. */
export const COUNT_FLUSH_MS = 10;
/** How long a loop waits for the others to say whether one holds a listen result's stream (and recorded it), in ms; then it answers 404. */
export const LISTEN_RESULT_WAIT_MS = 30_000;

/**
 * One loop's side of the link: `count` and `forget` tell the others,
 * `onCounts`/`onForget` hear them. A single loop uses `soloPeers`, which
 * tells no one.
 */
export interface LoopPeers {
  /** Counts one request against `key` in `budget` on the other loops: failed authentications at once, requests within COUNT_FLUSH_MS. */
  count(budget: CountedBudget, key: string): void;
  /** Drops a revoked key from the other loops' key caches. */
  forget(keyHash: string): void;
  onCounts(handler: (budget: CountedBudget, key: string, hits: number) => void): void;
  onForget(handler: (keyHash: string) => void): void;
  /** Hands a listen result to the other loops: true once the one holding its session's stream recorded it, false when none holds it. */
  listenResult: ForwardListenResult;
  /** Hears the other loops' listen results: the handler answers true once its stream recorded one, false when it holds none for it. */
  onListenResult(handler: ForwardListenResult): void;
  /** Tells the other loops a listen stream of `sessionId` opened here: theirs end. */
  listenStream(sessionId: number): void;
  onListenStream(handler: (sessionId: number) => void): void;
}

/** The link of an API with one event loop: nothing to tell. */
export const soloPeers: LoopPeers = { count() {}, forget() {}, onCounts() {}, onForget() {}, listenResult: async () => false, onListenResult() {}, listenStream() {}, onListenStream() {} };

/**
 * A loop's link over a message channel (the IPC channel of api-loops.ts):
 * request counts are summed per key and sent together every
 * COUNT_FLUSH_MS, so a loop admitting thousands of requests a second sends
 * at most a hundred messages; a failed authentication goes at once, since
 * its budget is small (30 a minute by default) and guards against guessing.
 * A listen result is asked of every other loop (`loops` in all): each
 * answers whether it held (and recorded) it, so the asker knows when none
 * does without waiting out LISTEN_RESULT_WAIT_MS.
 *
 * @example
 * const peers = channelPeers((message) => process.send!(message), config.apiProcesses);
 * process.on("message", (message) => peers.receive(message));
 */
export function channelPeers(send: (message: PeerMessage) => void, loops: number): LoopPeers & { receive(message: PeerMessage): void } {
  const countHandlers: Array<(budget: CountedBudget, key: string, hits: number) => void> = [];
  const forgetHandlers: Array<(keyHash: string) => void> = [];
  let listenHandler: ForwardListenResult = async () => false;
  let streamHandler: (sessionId: number) => void = () => {};
  /** Listen results asked of the other loops: how many have yet to answer, and the asker's callback. */
  const asked = new Map<string, { left: number; answer(held: boolean): void }>();
  let pending = new Map<string, [CountedBudget, string, number]>();
  let timer: NodeJS.Timeout | undefined;

  function flush() {
    timer = undefined;
    const counts = [...pending.values()];
    pending = new Map();
    if (counts.length > 0) send({ type: "counts", counts });
  }

  return {
    count(budget, key) {
      if (budget === "failed-auth") return send({ type: "counts", counts: [[budget, key, 1]] });
      const id = `${budget} ${key}`;
      const entry = pending.get(id);
      if (entry) entry[2]++;
      else pending.set(id, [budget, key, 1]);
      if (!timer) {
        timer = setTimeout(flush, COUNT_FLUSH_MS);
        timer.unref();
      }
    },
    forget(keyHash) {
      send({ type: "forget", keyHash });
    },
    onCounts(handler) {
      countHandlers.push(handler);
    },
    onForget(handler) {
      forgetHandlers.push(handler);
    },
    listenResult(accountId, sessionId, result) {
      if (loops < 2) return Promise.resolve(false);
      return new Promise((resolve) => {
        const ask = randomUUID();
        const timer = setTimeout(() => answer(false), LISTEN_RESULT_WAIT_MS);
        function answer(held: boolean) {
          clearTimeout(timer);
          asked.delete(ask);
          resolve(held);
        }
        asked.set(ask, { left: loops - 1, answer });
        send({ type: "listen-result", ask, accountId, sessionId, result });
      });
    },
    onListenResult(handler) {
      listenHandler = handler;
    },
    listenStream(sessionId) {
      send({ type: "listen-stream", sessionId });
    },
    onListenStream(handler) {
      streamHandler = handler;
    },
    receive(message) {
      if (message.type === "counts") {
        for (const [budget, key, hits] of message.counts) for (const handler of countHandlers) handler(budget, key, hits);
      } else if (message.type === "forget") {
        for (const handler of forgetHandlers) handler(message.keyHash);
      } else if (message.type === "listen-result") {
        const { ask, accountId, sessionId, result } = message;
        void listenHandler(accountId, sessionId, result)
          .catch(() => false)
          .then((held) => send({ type: "listen-taken", ask, held }));
      } else if (message.type === "listen-taken") {
        // Every loop hears every answer (relayed); only the asker knows the question.
        const entry = asked.get(message.ask);
        if (entry && (message.held || --entry.left === 0)) entry.answer(message.held);
      } else if (message.type === "listen-stream") {
        streamHandler(message.sessionId);
      }
    },
  };
}

/** Whether an IPC message is one of the loops' PeerMessages. */
export function isPeerMessage(message: unknown): message is PeerMessage {
  return PEER_MESSAGES.has((message as { type?: unknown } | null)?.type);
}
