// The receiver benchmark: ops/s of @hookline/receiver's verify against the
// `standardwebhooks` and `svix` packages' `Webhook.verify`, on the same signed
// 1 KiB message, interleaved in rounds in one process so machine noise hits
// every contender alike. Runnable alone: `npx --yes tsx bench/src/receiver-verify.ts`.
import { pathToFileURL } from "node:url";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { sign } from "../../receiver/src/sign.js";
import { createVerifier, verify } from "../../receiver/src/verify.js";
import { formatTable, ratioRow, round, type BenchRow } from "./report.js";

type Contender = { name: string; note?: string; run: () => unknown };

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BATCH = 500;

/** A JSON body of exactly `bytes` bytes, shaped like a real event. */
function payloadOf(bytes: number): string {
  const base = { id: "cd5bee7181e74ea38a3522e73253f6ebb8ed72fb", status: "success", author: "Some One", message: "" };
  const empty = JSON.stringify(base).length;
  return JSON.stringify({ ...base, message: "x".repeat(bytes - empty) });
}

function contenders(): Contender[] {
  const body = payloadOf(1024);
  const id = "msg_2mPqkZbL8v0Hc1xY7rT3aN";
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": sign({ id, timestamp, body, secret: SECRET }),
  };
  const verifier = createVerifier(SECRET);
  const standard = new StandardWebhook(SECRET);
  const svix = new SvixWebhook(SECRET);
  return [
    { name: "Hookline createVerifier().verify", run: () => verifier.verify({ headers, body }) },
    { name: "Hookline verify() one-shot", note: "decodes the secret on every call", run: () => verify({ headers, body, secret: SECRET }) },
    { name: "Hookline verify + JSON.parse", note: "same work as the packages, which parse the body", run: () => JSON.parse(body) && verifier.verify({ headers, body }) },
    { name: "standardwebhooks Webhook.verify", run: () => standard.verify(body, headers) },
    { name: "svix Webhook.verify", run: () => svix.verify(body, headers) },
  ];
}

/** Runs `run` in batches for about `ms` milliseconds; returns ops per second. */
function opsPerSecond(run: () => unknown, ms: number): number {
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < BATCH; i++) run();
    ops += BATCH;
    elapsed = performance.now() - start;
  }
  return (ops / elapsed) * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Measures each contender in `rounds` interleaved rounds and reports the
 * median ops/s of each, plus "Hookline / package" ratios (target ≥ 2×).
 *
 * @example
 * const rows = await benchReceiverVerify({ quick: true });
 */
export async function benchReceiverVerify(config: { quick?: boolean } = {}): Promise<BenchRow[]> {
  const list = contenders();
  for (const c of list) c.run(); // each must verify before it is timed; a throw aborts the bench
  const rounds = config.quick ? 3 : 7;
  const ms = config.quick ? 150 : 500;
  opsPerSecond(() => {
    for (const c of list) c.run();
  }, ms); // warm-up: let V8 optimise every path
  const samples = list.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of list.entries()) samples[i]!.push(opsPerSecond(c.run, ms));
  }
  const rows: BenchRow[] = list.map((c, i) => ({
    scenario: "receiver",
    name: `${c.name} (1 KiB)`,
    value: round(median(samples[i]!)),
    unit: "ops/s",
    note: c.note ?? `median of ${rounds} × ${ms} ms rounds`,
  }));
  const [ours, , oursParsing, standard, svix] = rows;
  rows.push(
    ratioRow("receiver", "Hookline / standardwebhooks", ours, standard, "target ≥ 2"),
    ratioRow("receiver", "Hookline / svix", ours, svix),
    ratioRow("receiver", "Hookline + JSON.parse / standardwebhooks", oursParsing, standard, "like for like"),
  );
  return rows;
}

export default benchReceiverVerify;

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
  console.log(formatTable(await benchReceiverVerify({ quick })));
}
