import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tsxImport, trackChild } from "../child-process.js";
import type { BenchConfig } from "../config.js";
import { progress, ratioRow, round, type BenchRow } from "../report.js";

/*
 * The server's footprint, built (node dist/) versus from source (tsx), in the
 * same run on embedded PGlite: time from spawn to /readyz 200, RSS once idle,
 * and peak RSS while it delivers a burst of published events to a local
 * receiver. Run `pnpm build` first (install does, through `prepare`).
 */
const serviceDir = fileURLToPath(new URL("../../../services/hookline/", import.meta.url));

export async function footprintScenario(config: BenchConfig): Promise<BenchRow[]> {
  const events = config.quick ? 300 : 3000;
  const built = await measure("built", [join(serviceDir, "bin/hookline.mjs"), "start"], events, config.footprintBatchEvents);
  const tsx = await measure("tsx", ["--import", tsxImport, join(serviceDir, "src/main.ts")], events, 0);
  const rows = [...built, ...tsx];
  const find = (name: string) => rows.find((r) => r.name === name);
  return [
    ...rows,
    ratioRow("footprint", "RSS idle: built / tsx", find("built: RSS idle"), find("tsx: RSS idle"), "lower is better"),
    ratioRow("footprint", "RSS under load: built / tsx", find("built: RSS peak under load"), find("tsx: RSS peak under load")),
    ratioRow("footprint", "start-up: built / tsx", find("built: start to /readyz"), find("tsx: start to /readyz")),
  ];
}

/** `batchEvents` (0: none) more are then published in batches of 1,000 and all delivered: the peak of a throughput load, not only of a burst. */
async function measure(label: string, args: string[], events: number, batchEvents: number): Promise<BenchRow[]> {
  progress(`footprint: ${label}`);
  const dataDir = mkdtempSync(join(tmpdir(), "hookline-bench-footprint-"));
  let delivered = 0;
  const receiver = createServer((req, res) => req.resume().on("end", () => (delivered++, res.end("ok"))));
  await new Promise<void>((ready) => receiver.listen(0, "127.0.0.1", ready));
  const started = Date.now();
  const child = spawn(process.execPath, args, {
    cwd: serviceDir,
    env: { ...process.env, PORT: "0", HOOKLINE_DATA_DIR: dataDir, HOOKLINE_ALLOW_PRIVATE_TARGETS: "true", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const { url, key } = await announced(child);
    while ((await fetch(`${url}/readyz`).catch(() => undefined))?.status !== 200) await sleep(20);
    const startup = Date.now() - started;
    await sleep(2000);
    const idle = memoryMb(child.pid!, "VmRSS");

    const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    await fetch(`${url}/v1/hooks`, { method: "POST", headers: auth, body: JSON.stringify({ url: target, events: ["*"] }) });
    peak = idle;
    sampler = setInterval(() => {
      peak = Math.max(peak, memoryMb(child.pid!, "VmRSS"));
    }, 100);
    for (let sent = 0; sent < events; sent += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${url}/v1/events`, {
            method: "POST",
            headers: auth,
            body: JSON.stringify({ type: "bench.footprint", data: { n: sent + i } }),
          }),
        ),
      );
    }
    await sleep(2000);
    // The kernel's high-water mark catches what a 100 ms sample can miss.
    const burstPeak = Math.max(peak, memoryMb(child.pid!, "VmHWM"));
    const batched = batchEvents > 0 ? await publishBatches(url, auth, batchEvents, () => delivered - events) : undefined;
    const batchPeak = Math.max(peak, memoryMb(child.pid!, "VmHWM"));
    const note = `PGlite; ${events} events published and delivered`;
    return [
      { scenario: "footprint", name: `${label}: start to /readyz`, value: startup, unit: "ms", note: "PGlite, new data folder" },
      { scenario: "footprint", name: `${label}: RSS idle`, value: idle, unit: "MB" },
      { scenario: "footprint", name: `${label}: RSS peak under load`, value: burstPeak, unit: "MB", note },
      ...(batched
        ? [
            {
              scenario: "footprint",
              name: `${label}: RSS peak, ${batchEvents} batch-published`,
              value: batchPeak,
              unit: "MB",
              note: `then ${batched.delivered}/${batchEvents} delivered in ${round(batched.ms / 1000, 1)} s, batches of 1,000; target < 400 (PRODUCT.md §9)`,
            },
          ]
        : []),
    ];
  } finally {
    // Before the server goes: a sample of a process that is gone would throw outside any handler.
    clearInterval(sampler);
    child.kill("SIGTERM");
    await new Promise((done) => child.once("exit", done));
    receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Publishes `count` events in batches of 1,000 and waits (at most 5 minutes) until `delivered()` reaches `count`. */
async function publishBatches(
  url: string,
  auth: Record<string, string>,
  count: number,
  delivered: () => number,
): Promise<{ delivered: number; ms: number }> {
  const started = Date.now();
  for (let sent = 0; sent < count; sent += 1000) {
    const events = Array.from({ length: Math.min(1000, count - sent) }, (_, i) => ({
      type: "bench.footprint",
      data: { n: sent + i, pad: "x".repeat(400) },
    }));
    const res = await fetch(`${url}/v1/events/batch`, { method: "POST", headers: auth, body: JSON.stringify({ events }) });
    if (!res.ok) throw new Error(`batch publish answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
  while (delivered() < count && Date.now() - started < 300_000) await sleep(200);
  return { delivered: delivered(), ms: Date.now() - started };
}

/** The URL and the first-start API key the server prints. */
function announced(child: ChildProcess): Promise<{ url: string; key: string }> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`no start-up lines in 180 s:\n${output}`)), 180_000);
    const check = (chunk: Buffer) => {
      output += chunk;
      const url = output.match(/running at (http:\/\/\S+)/)?.[1];
      // stdout is a pipe, so the key is in a file only this user reads, named in the banner (never printed).
      const file = output.match(/API key is in (\S+) \(/)?.[1];
      if (!url || !file) return;
      const key = readFileSync(file, "utf8").trim();
      clearTimeout(timer);
      resolve({ url, key });
    };
    child.stdout!.on("data", check);
    child.stderr!.on("data", (chunk) => (output += chunk));
    child.once("exit", (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

/** A process's resident memory now (VmRSS) or at its highest so far (VmHWM), in MB. */
function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const kb = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? Number.NaN);
  return round(kb / 1024, 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
