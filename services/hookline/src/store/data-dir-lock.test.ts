import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirBusyError, isDataDirLocked, LOCK_STALE_MS, lockDataDir } from "./data-dir-lock.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here the data folder's lock: held while refreshed within
 * LOCK_STALE_MS, stale (and taken over) once not refreshed for longer. The
 * lock's age is set with its mtime, as its holder's refreshes set it.
 */
describe("the data folder lock's stale time, each side", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A data folder whose lock was last refreshed `ageMs` ago by `owner`. */
  function lockedFolder(ageMs: number, owner: { pid: number; hostname: string; pid_namespace?: string }): string {
    const dir = mkdtempSync(join(tmpdir(), "hookline-lock-"));
    dirs.push(dir);
    mkdirSync(join(dir, "hookline.lock"));
    writeFileSync(join(dir, "hookline-owner.json"), JSON.stringify({ ...owner, command: "server", started_at: new Date().toISOString() }));
    const at = new Date(Date.now() - ageMs);
    utimesSync(join(dir, "hookline.lock"), at, at);
    return dir;
  }
  const otherHost = { pid: 1, hostname: `not-${hostname()}` };

  it("isDataDirLocked: held just inside the stale time, not just past it", () => {
    expect(isDataDirLocked(lockedFolder(LOCK_STALE_MS - 1000, otherHost))).toBe(true);
    expect(isDataDirLocked(lockedFolder(LOCK_STALE_MS + 1000, otherHost))).toBe(false);
  });

  it("isDataDirLocked: a fresh lock of this host's running process is held; of one that no longer runs (crashed), not", () => {
    expect(isDataDirLocked(lockedFolder(1000, { pid: process.pid, hostname: hostname() }))).toBe(true);
    // No process has this pid (above the usual pid_max).
    expect(isDataDirLocked(lockedFolder(1000, { pid: 2 ** 22 + 7, hostname: hostname() }))).toBe(false);
    expect(isDataDirLocked(lockedFolder(1000, { ...otherHost, pid: 2 ** 22 + 7 })), "another host's pid means nothing here").toBe(true);
  });

  it.runIf(existsSync("/proc/self/ns/pid"))("isDataDirLocked: a pid of this host but another PID namespace (a container of the same pod) counts as running", () => {
    const here = readlinkSync("/proc/self/ns/pid");
    const dead = { pid: 2 ** 22 + 7, hostname: hostname() };
    expect(isDataDirLocked(lockedFolder(1000, { ...dead, pid_namespace: "pid:[1]" }))).toBe(true);
    expect(isDataDirLocked(lockedFolder(1000, { ...dead, pid_namespace: here }))).toBe(false);
  });

  it.runIf(existsSync("/proc/self/ns/pid"))("lockDataDir records the holder's PID namespace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-lock-"));
    dirs.push(dir);
    const lock = await lockDataDir(dir, "test", () => {});
    const owner = JSON.parse(readFileSync(join(dir, "hookline-owner.json"), "utf8")) as { pid: number; pid_namespace?: string };
    await lock.release();
    expect(owner).toMatchObject({ pid: process.pid, pid_namespace: readlinkSync("/proc/self/ns/pid") });
  });

  it("lockDataDir: when another process takes the folder during the wait, the refusal names that process, not the crashed one", async () => {
    const dir = lockedFolder(LOCK_STALE_MS - 1500, { pid: 2 ** 22 + 7, hostname: hostname() });
    // Stands in for a server that starts meanwhile: it records itself and keeps the lock fresh.
    let refreshing: NodeJS.Timeout | undefined;
    const takeOver = () => {
      writeFileSync(join(dir, "hookline-owner.json"), JSON.stringify({ pid: process.pid, hostname: hostname(), command: "server", started_at: new Date().toISOString() }));
      refreshing = setInterval(() => utimesSync(join(dir, "hookline.lock"), new Date(), new Date()), 500);
      utimesSync(join(dir, "hookline.lock"), new Date(), new Date());
    };
    try {
      const refused = await lockDataDir(dir, "test", () => {}, takeOver).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(DataDirBusyError);
      expect((refused as DataDirBusyError).owner?.pid).toBe(process.pid);
    } finally {
      clearInterval(refreshing);
    }
  }, 30_000);

  it("lockDataDir: another host's lock refreshed just inside the stale time refuses; one just past it is taken over", async () => {
    const toldOf: number[] = [];
    const waitedFor = (holder: { pid: number }) => toldOf.push(holder.pid);
    await expect(lockDataDir(lockedFolder(LOCK_STALE_MS - 1000, otherHost), "test", () => {}, waitedFor)).rejects.toBeInstanceOf(DataDirBusyError);
    const lock = await lockDataDir(lockedFolder(LOCK_STALE_MS + 1000, otherHost), "test", () => {}, waitedFor);
    expect(toldOf, "no wait for another host's holder").toEqual([]);
    await lock.release();
  });

  it("lockDataDir: a crashed holder of this host is waited for until its lock goes stale, then taken over", async () => {
    // No process has this pid (above the usual pid_max), so the recorded holder has crashed.
    const dir = lockedFolder(LOCK_STALE_MS - 1500, { pid: 2 ** 22 + 7, hostname: hostname() });
    const started = Date.now();
    const toldOf: number[] = [];
    const lock = await lockDataDir(dir, "test", () => {}, (holder) => toldOf.push(holder.pid));
    const waited = Date.now() - started;
    await lock.release();
    expect(toldOf, "the caller is told whom it waits for, once").toEqual([2 ** 22 + 7]);
    expect(waited, "not taken before the lock went stale").toBeGreaterThanOrEqual(1000);
    expect(waited, "taken soon after").toBeLessThan(4000);
  });
});

describe("a data folder the lock creates", () => {
  it("is the user's alone (0700), with every parent it had to make", async () => {
    const root = mkdtempSync(join(tmpdir(), "hookline-lock-mode-"));
    try {
      const dataDir = join(root, "deeper", "data");
      const lock = await lockDataDir(dataDir, "test", () => {});
      await lock.release();
      expect([statSync(join(root, "deeper")).mode & 0o777, statSync(dataDir).mode & 0o777]).toEqual([0o700, 0o700]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
