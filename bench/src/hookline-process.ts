import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { removeQueueStream } from "@hookline/server";
import getPort, { portNumbers } from "get-port";
import { tsxImport, trackChild } from "./child-process.js";
import { createScratchDb, type ScratchDb } from "./scratch-db.js";

const serviceDir = fileURLToPath(new URL("../../services/hookline/", import.meta.url));
// The built server (what `pnpm start` runs: `pnpm install` builds it), as
// users run it; from source through tsx only when dist/ is missing.
const builtMain = `${serviceDir}dist/main.mjs`;
const builtCli = `${serviceDir}dist/cli.mjs`;
const mainFile = existsSync(builtMain) ? builtMain : `${serviceDir}src/main.ts`;
const cliFile = existsSync(builtCli) ? builtCli : `${serviceDir}src/cli.ts`;
const READY_TIMEOUT_MS = 60_000;

/** A Hookline server running as its own process on its own scratch database. */
export type HooklineProcess = {
  url: string;
  pid: number;
  adminToken: string;
  /** The scratch database it runs on (for the WAL meter and other direct reads). */
  databaseUrl: string;
  /** Which delivery queue it runs on: `postgres`, or `nats` with HOOKLINE_QUEUE_URL set for the bench. */
  queue: "postgres" | "nats";
  stop: () => Promise<void>;
};

/** Thrown when Hookline cannot be started; its message is the reason shown in the table. */
export class HooklineUnavailable extends Error {}

/**
 * Migrates a scratch database and starts the built server
 * (`services/hookline/dist/main.mjs`; `src/main.ts` through tsx when there is
 * no build) in a child process of plain node, so the pid is the server's own, for RSS.
 * Resolves once `/readyz` answers 200.
 *
 * @example
 * const hookline = await startHookline(config.adminUrl, "both")
 * try { ... } finally { await hookline.stop() }
 */
export async function startHookline(
  adminUrl: string,
  role: "api" | "worker" | "both",
  options: { db?: ScratchDb; env?: Record<string, string> } = {},
): Promise<HooklineProcess> {
  if (!existsSync(mainFile)) throw new HooklineUnavailable(`Hookline not available: ${mainFile} does not exist yet`);
  // A database handed in belongs to the caller (several processes in turn share it); ours is dropped on stop.
  const owned = options.db === undefined;
  const db = options.db ?? (await createScratchDb(adminUrl, "hookline"));
  const adminToken = randomBytes(24).toString("hex");
  const port = await freePort();
  // The process's own temporary folder, removed when it stops: a first start
  // serving the API on PostgreSQL keeps its API key in a private folder under
  // it (services/hookline/src/initial-key.ts), one left behind per run before.
  const scratchTmp = mkdtempSync(join(tmpdir(), "hookline-bench-"));
  const removeScratchTmp = () => rmSync(scratchTmp, { recursive: true, force: true });
  const env = {
    ...process.env,
    TMPDIR: scratchTmp,
    DATABASE_URL: db.url,
    HOST: "127.0.0.1",
    PORT: String(port),
    HOOKLINE_ROLE: role,
    HOOKLINE_ADMIN_TOKEN: adminToken,
    HOOKLINE_ALLOW_PRIVATE_TARGETS: "true",
    // One main key per database, so every process a scenario starts on it
    // (API, then a worker-only one) opens the secrets the first one sealed.
    HOOKLINE_MAIN_SECRET: process.env.HOOKLINE_MAIN_SECRET ?? createHash("sha256").update(`hookline bench ${db.url}`).digest("base64"),
    // The limiter runs (its cost is part of the figure) but never trips the bench's one key.
    HOOKLINE_RATE_LIMIT_REQUESTS: "1000000000",
    LOG_LEVEL: "warn",
    // A worker-only process has no API; its health endpoint is what /readyz polls.
    ...(role === "worker" ? { HOOKLINE_METRICS_PORT: String(port) } : {}),
    // HOOKLINE_QUEUE_URL (the NATS queue): a stream per scratch database, so
    // runs never share one (processes of one scenario share its database's).
    ...(process.env.HOOKLINE_QUEUE_URL ? { HOOKLINE_QUEUE_PREFIX: queuePrefix(db.name) } : {}),
    ...options.env,
  };
  const lines: string[] = [];
  try {
    if (existsSync(cliFile)) await runToEnd(spawnTs(cliFile, ["migrate"], env, lines), 60_000, lines);
    const child = spawnTs(mainFile, [], env, lines, cpuProfileArgs());
    const url = `http://127.0.0.1:${port}`;
    await waitReady(child, url, lines);
    return {
      url,
      pid: child.pid!,
      adminToken,
      databaseUrl: db.url,
      queue: process.env.HOOKLINE_QUEUE_URL || options.env?.HOOKLINE_QUEUE_URL ? "nats" : "postgres",
      stop: () => stopProcess(child, owned ? db : undefined).finally(removeScratchTmp),
    };
  } catch (error) {
    removeScratchTmp();
    if (owned) await db.drop();
    throw error instanceof HooklineUnavailable ? error : new HooklineUnavailable(`Hookline not available: ${String(error)}`);
  }
}

/**
 * BENCH_CPU_PROFILE_DIR=<folder>: the server (and the API loop processes it
 * forks, which inherit its flags) writes V8 CPU profiles there on exit, for
 * Chrome DevTools or `node --cpu-prof` readers. Node refuses the flag in
 * NODE_OPTIONS, hence a variable of our own.
 */
function cpuProfileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROFILE_DIR;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

function spawnTs(file: string, args: string[], env: NodeJS.ProcessEnv, lines: string[], nodeArgs: string[] = []): ChildProcess {
  const loader = file.endsWith(".ts") ? ["--import", tsxImport] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, file, ...args], { cwd: serviceDir, env, stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 20));
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return child;
}

function runToEnd(child: ChildProcess, timeoutMs: number, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error("migrate timed out"))), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new HooklineUnavailable(`Hookline not available: migrate exited with ${code}: ${lines.slice(-5).join(" | ").slice(-400)}`));
    });
  });
}

async function waitReady(child: ChildProcess, url: string, lines: string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new HooklineUnavailable(`Hookline not available: process exited (${child.exitCode ?? child.signalCode}): ${lines.slice(-5).join(" | ").slice(-400)}`);
    }
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(200);
  }
  child.kill("SIGKILL");
  throw new HooklineUnavailable(`Hookline not available: /readyz not 200 within ${READY_TIMEOUT_MS / 1000}s: ${lines.slice(-5).join(" | ").slice(-400)}`);
}

async function stopProcess(child: ChildProcess, db: ScratchDb | undefined): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    // Graceful shutdown gets a few seconds; the bench must not hang on it.
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  if (db) await dropWithStream(db);
}

/** Drops a scratch database and, on the NATS queue, the stream its runs used. */
export async function dropWithStream(db: ScratchDb): Promise<void> {
  await db.drop();
  if (process.env.HOOKLINE_QUEUE_URL) {
    await removeQueueStream({ servers: process.env.HOOKLINE_QUEUE_URL.split(","), prefix: queuePrefix(db.name), replicas: undefined, credsFile: undefined, tls: undefined }).catch(() => {});
  }
}

/** The JetStream prefix of a scratch database's runs (HOOKLINE_QUEUE_PREFIX: at most 32 characters). */
function queuePrefix(dbName: string): string {
  return `bench_${createHash("sha256").update(dbName).digest("hex").slice(0, 12)}`;
}

/**
 * A free port below the kernel's ephemeral range (32768 on Linux): an
 * OS-picked port can be taken as an outgoing connection's local port between
 * the probe and the server's bind (test/support/free-port.ts tells the story).
 */
function freePort(): Promise<number> {
  const from = 10_000 + Math.floor(Math.random() * 20_000);
  return getPort({ port: portNumbers(from, 32_767) });
}

/**
 * What `sampleProcess` saw: RSS when sampling began, peak RSS (the larger of
 * the polled peak and the kernel's VmHWM: a 100 ms poll misses short
 * spikes, the high-water mark does not), and CPU use in cores.
 */
export type ProcessSample = { startMb: number; peakMb: number; hwmMb: number; cpuCores: number };

/**
 * Polls the resident memory of a process and every process below it (API
 * loops), summed (/proc/<pid>/status), until stopped, and
 * measures their CPU time over the same span (/proc/<pid>/stat): a figure near
 * 1 core means the process is CPU-bound, well under 1 that it waits.
 *
 * @example
 * const sampler = sampleProcess(hookline.pid); ...; const { peakMb, cpuCores } = await sampler.stop()
 */
export function sampleProcess(pid: number, everyMs = 100): { stop: () => Promise<ProcessSample> } {
  // The server and the processes it started (API loops: HOOKLINE_API_PROCESSES), summed:
  // the budgets are for one start, all its processes together.
  const pids = [pid, ...descendantsOf(pid)];
  let peakKb = 0;
  const status = (one: number, field: "VmRSS" | "VmHWM") =>
    readFile(`/proc/${one}/status`, "utf8").then(
      (text) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0),
      () => 0,
    );
  const total = (field: "VmRSS" | "VmHWM") => Promise.all(pids.map((one) => status(one, field))).then((kbs) => kbs.reduce((a, b) => a + b, 0));
  // utime and stime are fields 14 and 15, counted after the ")" closing the command name.
  const ticksOf = (one: number) =>
    readFile(`/proc/${one}/stat`, "utf8").then(
      (text) => {
        const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
        return Number(fields[11]) + Number(fields[12]);
      },
      () => 0,
    );
  const cpuTicks = () => Promise.all(pids.map(ticksOf)).then((ticks) => ticks.reduce((a, b) => a + b, 0));
  const startedAt = Date.now();
  const startTicks = cpuTicks();
  const startKb = total("VmRSS");
  const timer = setInterval(() => void total("VmRSS").then((kb) => (peakKb = Math.max(peakKb, kb))), everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      // The sum of each process's high-water mark: an upper bound of the peak of the sum.
      const [hwmKb, endTicks, begin, atStartKb] = await Promise.all([total("VmHWM"), cpuTicks(), startTicks, startKb]);
      // Linux reports CPU time in clock ticks of 1/100 s (USER_HZ) on every platform Node supports.
      const cpuSeconds = (endTicks - begin) / 100;
      const cpuCores = Math.round((cpuSeconds / ((Date.now() - startedAt) / 1000)) * 1000) / 1000;
      const mb = (kb: number) => Math.round(kb / 1024);
      return { startMb: mb(atStartKb), peakMb: mb(Math.max(peakKb, hwmKb)), hwmMb: mb(hwmKb), cpuCores };
    },
  };
}

/** Every process below `pid` (children, their children…), read from /proc/<n>/stat's parent field. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const below = (parent: number) => {
    for (const [child, of] of parents) if (of === parent) (found.push(child), below(child));
  };
  below(pid);
  return found;
}
