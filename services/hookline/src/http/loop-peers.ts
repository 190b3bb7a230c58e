/**
 * What the API's event loops (one process each, api-loops.ts) tell each
 * other so that per-process state stays right across them: requests counted
 * against a key's budgets, failed authentications per client address, and
 * keys revoked. One loop's message reaches every other loop (the first
 * process relays).
 */
export type PeerMessage =
  | { type: "counts"; counts: Array<[budget: CountedBudget, key: string, hits: number]> }
  | { type: "forget"; keyHash: string };

/** The counters shared: a key's two budgets and the failed-authentication count of an address. */
export type CountedBudget = "requests" | "publish" | "failed-auth";

/** How often counted requests are sent to the other loops, in ms: the bound on how late they see them. */
export const COUNT_FLUSH_MS = 10;

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
}

/** The link of an API with one event loop: nothing to tell. */
export const soloPeers: LoopPeers = { count() {}, forget() {}, onCounts() {}, onForget() {} };

/**
 * A loop's link over a message channel (the IPC channel of api-loops.ts):
 * request counts are summed per key and sent together every
 * COUNT_FLUSH_MS, so a loop admitting thousands of requests a second sends
 * at most a hundred messages; a failed authentication goes at once, since
 * its budget is small (30 a minute by default) and guards against guessing.
 *
 * @example
 * const peers = channelPeers((message) => process.send!(message));
 * process.on("message", (message) => peers.receive(message));
 */
export function channelPeers(send: (message: PeerMessage) => void): LoopPeers & { receive(message: PeerMessage): void } {
  const countHandlers: Array<(budget: CountedBudget, key: string, hits: number) => void> = [];
  const forgetHandlers: Array<(keyHash: string) => void> = [];
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
    receive(message) {
      if (message.type === "counts") {
        for (const [budget, key, hits] of message.counts) for (const handler of countHandlers) handler(budget, key, hits);
      } else if (message.type === "forget") {
        for (const handler of forgetHandlers) handler(message.keyHash);
      }
    },
  };
}

/** Whether an IPC message is one of the loops' PeerMessages. */
export function isPeerMessage(message: unknown): message is PeerMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === "counts" || type === "forget";
}
