import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/**
 * Wall-clock milliseconds with sub-millisecond resolution; comparable across
 * processes on this machine (child processes report start times in it).
 */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

type Sample = { headers: IncomingHttpHeaders; body: string };
type Waiter = { target: number; resolve: (at: number) => void };

/** A local receiver: counts POSTs, answers 200 at once, keeps a few for later checks. */
export type Receiver = {
  url: string;
  count: () => number;
  /** When (epochNow) the first request counted since the last reset arrived, if any. */
  firstAt: () => number | undefined;
  /**
   * Resolves with the time (epochNow) the `target`-th request arrived; rejects
   * when nothing arrives for `stallMs` (a stall, not a slow run, fails it).
   */
  waitFor: (target: number, stallMs: number) => Promise<number>;
  /**
   * Forgets counts and samples between runs; with `path`, counts only requests
   * to it, so stragglers of an earlier run cannot complete a later one.
   */
  reset: (path?: string) => void;
  /** Verifies the kept samples with the `standardwebhooks` package, after the run. */
  verifySamples: (secret: string) => { checked: number; valid: number };
  close: () => Promise<void>;
};

/**
 * Starts the receiver on 127.0.0.1 (random port). Signature checks happen
 * only in `verifySamples`, off the hot path, so the receiver is never the
 * bottleneck being measured.
 *
 * @example
 * const receiver = await startReceiver()
 * await receiver.waitFor(1000, 60_000)
 */
export async function startReceiver(sampleLimit = 100): Promise<Receiver> {
  let received = 0;
  let first: number | undefined;
  let only: string | undefined;
  let samples: Sample[] = [];
  let waiters: Waiter[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "content-length": "0" }).end();
      if (only !== undefined && req.url !== only) return;
      if (received++ === 0) first = epochNow();
      if (samples.length < sampleLimit) samples.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (waiters.length > 0) settle(epochNow());
    });
  });
  // Long keep-alive so senders reuse sockets for the whole run.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  function settle(at: number) {
    const done = waiters.filter((w) => received >= w.target);
    if (done.length === 0) return;
    waiters = waiters.filter((w) => received < w.target);
    for (const w of done) w.resolve(at);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    count: () => received,
    firstAt: () => first,
    waitFor: (target, stallMs) =>
      new Promise((resolve, reject) => {
        if (received >= target) return resolve(epochNow());
        let seen = received;
        const timer = setInterval(() => {
          if (received > seen) {
            seen = received;
            return;
          }
          clearInterval(timer);
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`receiver got ${received} of ${target} requests; none for ${stallMs / 1000} s`));
        }, stallMs);
        const waiter: Waiter = { target, resolve: (at) => (clearInterval(timer), resolve(at)) };
        waiters.push(waiter);
      }),
    reset: (path) => {
      received = 0;
      first = undefined;
      samples = [];
      only = path;
    },
    verifySamples: (secret) => {
      const wh = new Webhook(secret);
      let valid = 0;
      for (const s of samples) {
        try {
          wh.verify(s.body, s.headers as Record<string, string>);
          valid++;
        } catch {
          // counted as invalid; the caller reports valid/checked
        }
      }
      return { checked: samples.length, valid };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
