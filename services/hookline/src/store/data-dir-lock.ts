import { accessSync, constants, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import lockfile from "proper-lockfile";

/**
 * One owner per embedded database. PGlite is single-process: two processes
 * opening one data folder both succeed and can corrupt it, so a process takes
 * this lock before PGlite touches the folder, and a second one is refused.
 *
 * The lock is proper-lockfile's (an atomic `mkdir` of `hookline.lock` inside
 * the folder, its mtime refreshed every `LOCK_UPDATE_MS`); a lock not
 * refreshed for `LOCK_STALE_MS` is stale and may be taken over, so a crashed
 * owner holds the folder for at most that long. Beside it, `hookline-owner.json`
 * says who holds it (pid, host, the server's URL) for the refusal message and
 * for CLI commands that go through the running server instead.
 */
export const LOCK_STALE_MS = 10_000;
const LOCK_UPDATE_MS = 5_000;
const LOCK_NAME = "hookline.lock";
/** A second lock, held only while the first is tried (takeExclusively). */
const TAKEOVER_NAME = "hookline.lock.takeover";
const OWNER_FILE = "hookline-owner.json";

/** Who holds a data folder. */
export interface DataDirOwner {
  pid: number;
  hostname: string;
  /**
   * The holder's PID namespace (Linux: `/proc/self/ns/pid`'s link, e.g.
   * `pid:[4026531836]`). Containers of one Kubernetes pod share a hostname and
   * a volume but not their pids: a pid is only judged dead in its own namespace.
   */
  pid_namespace?: string;
  /** What the holder runs: "server" or a CLI command. */
  command: string;
  /** The holder's API, when it serves one. */
  url?: string;
  /**
   * An admin token for that API, for the CLI on this machine (whoever can read
   * this folder can read the database anyway; the file is mode 0600).
   */
  admin_token?: string;
  /** The oldest account's id, what CLI commands act on without --account. */
  default_account?: string;
  started_at: string;
}

export interface DataDirLock {
  /** Records how to reach the holder's API, for CLI commands that go through it. */
  advertise(details: Pick<DataDirOwner, "url" | "admin_token" | "default_account">): void;
  release(): Promise<void>;
}

/** The folder cannot be created or written (permissions, a file in the way, a read-only disk). */
export class DataDirNotWritableError extends Error {
  constructor(readonly dataDir: string, readonly code: string | undefined, options?: ErrorOptions) {
    super(`${dataDir} is not a writable folder${code ? ` (${code})` : ""}`, options);
    this.name = "DataDirNotWritableError";
  }
}

/** Another live process holds the folder. */
export class DataDirBusyError extends Error {
  constructor(readonly dataDir: string, readonly owner: DataDirOwner | undefined) {
    super(`${dataDir} is in use by ${owner ? `process ${owner.pid}` : "another process"}`);
    this.name = "DataDirBusyError";
  }
}

/** The recorded holder of a data folder, if any (the record may outlive a crashed holder by `LOCK_STALE_MS`). */
export function readDataDirOwner(dataDir: string): DataDirOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, OWNER_FILE), "utf8")) as DataDirOwner;
  } catch {
    return undefined;
  }
}

/**
 * True when the folder's lock is held and fresh, by a holder that may still
 * run: a recorded holder of this host whose pid no longer runs has crashed,
 * and `lockDataDir` waits its lock out instead of refusing. The CLI asks this
 * before choosing between the running server's API and the folder itself; a
 * crashed server's fresh lock had it refuse at once ("in use by process N")
 * where opening the folder would have waited a few seconds and worked.
 */
export function isDataDirLocked(dataDir: string): boolean {
  try {
    if (Date.now() - statSync(join(dataDir, LOCK_NAME)).mtimeMs >= LOCK_STALE_MS) return false;
  } catch {
    return false;
  }
  const owner = readDataDirOwner(dataDir);
  return !owner || !hasCrashed(owner);
}

/**
 * A holder recorded by this host, in this PID namespace, whose process no
 * longer runs. Another host's or namespace's pid means nothing here: such a
 * holder counts as running until its lock goes stale. A holder recorded
 * without a namespace (before it was recorded, or off Linux) is judged here.
 */
function hasCrashed(owner: DataDirOwner): boolean {
  const sameNamespace = owner.pid_namespace === undefined || owner.pid_namespace === pidNamespace();
  return owner.hostname === hostname() && sameNamespace && !isRunning(owner.pid);
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return undefined;
  }
}

/**
 * Creates the folder if needed and takes its lock, before anything opens the
 * database in it. Throws `DataDirNotWritableError` or `DataDirBusyError`.
 * When the recorded holder is a process of this host that no longer runs, it
 * waits (up to `LOCK_STALE_MS`) for its lock to go stale instead of refusing.
 * `onLost` is called if the lock is taken away while held (its folder deleted,
 * a clock jump): the caller must stop using the database. `onWait` is called
 * with the crashed holder before that wait, so a start that seems to hang
 * for seconds can say why.
 */
export async function lockDataDir(
  dataDir: string,
  command: string,
  onLost: (error: Error) => void,
  onWait: (crashedHolder: DataDirOwner) => void = () => {},
): Promise<DataDirLock> {
  try {
    // The database's files are the user's alone, as PostgreSQL insists for its data directory (PGlite
    // writes its files world-readable, some world-writable: the folder is what keeps others out).
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    accessSync(dataDir, constants.W_OK);
    if (!statSync(dataDir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  } catch (error) {
    throw new DataDirNotWritableError(dataDir, (error as NodeJS.ErrnoException).code, { cause: error });
  }

  const options = { lockfilePath: join(dataDir, LOCK_NAME), realpath: false, stale: LOCK_STALE_MS, update: LOCK_UPDATE_MS, onCompromised: onLost };
  // Resolves with the release, or rejects with ELOCKED (held) or DataDirNotWritableError.
  const attempt = () =>
    takeExclusively(dataDir, () =>
      lockfile.lock(dataDir, options).catch((error: NodeJS.ErrnoException) => {
        throw error.code === "ELOCKED" ? error : new DataDirNotWritableError(dataDir, error.code, { cause: error });
      }),
    );
  let release: () => Promise<void>;
  try {
    release = await attempt();
  } catch (error) {
    if (error instanceof DataDirNotWritableError) throw error;
    const owner = readDataDirOwner(dataDir);
    if (!owner || !hasCrashed(owner)) throw new DataDirBusyError(dataDir, owner);
    // The holder crashed: its lock goes stale within LOCK_STALE_MS of its last refresh.
    onWait(owner);
    release = await waitOutCrashedHolder(dataDir, owner, attempt);
  }

  const namespace = pidNamespace();
  const owner: DataDirOwner = {
    pid: process.pid,
    hostname: hostname(),
    ...(namespace ? { pid_namespace: namespace } : {}),
    command,
    started_at: new Date().toISOString(),
  };
  const write = () => {
    const path = join(dataDir, OWNER_FILE);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
    renameSync(temporary, path);
  };
  try {
    write();
  } catch (error) {
    await release().catch(() => {});
    throw new DataDirNotWritableError(dataDir, (error as NodeJS.ErrnoException).code, { cause: error });
  }
  return {
    advertise(details) {
      Object.assign(owner, details);
      write();
    },
    async release() {
      rmSync(join(dataDir, OWNER_FILE), { force: true });
      await release();
    },
  };
}

/**
 * Runs `take` (an attempt at the folder's lock) while holding a second,
 * short-lived lock beside it. proper-lockfile takes over a stale lock by
 * checking its age, removing it and re-creating it: two processes doing that
 * at once can both end up holding it, the second having removed the lock the
 * first just made (moxystudio/node-proper-lockfile#121; a break-it review saw
 * it in 1 of 40 trials of six waiters after a crash). Under this lock only one
 * process at a time looks. It is held for milliseconds; one left by a process
 * killed inside them goes stale after 2 s (proper-lockfile's least). Losing it
 * is not reported (the default throws): it guards one attempt, then goes.
 */
async function takeExclusively<T>(dataDir: string, take: () => Promise<T>): Promise<T> {
  const polls = { retries: 400, factor: 1, minTimeout: 10, maxTimeout: 20, randomize: true };
  let releaseTakeover: () => Promise<void>;
  try {
    // proper-lockfile keys its locks by the path given, so this one gets a path of its own.
    const takeover = join(dataDir, TAKEOVER_NAME);
    releaseTakeover = await lockfile.lock(takeover, { lockfilePath: takeover, realpath: false, stale: 2000, retries: polls, onCompromised: () => {} });
  } catch (error) {
    throw new DataDirNotWritableError(dataDir, (error as NodeJS.ErrnoException).code, { cause: error });
  }
  try {
    return await take();
  } finally {
    await releaseTakeover().catch(() => {});
  }
}

/**
 * Tries `take` every 200–400 ms (at random, so waiters that started together
 * do not keep meeting) until the crashed holder's lock has gone stale and is
 * ours, for at most LOCK_STALE_MS and a margin. Refuses at once when another
 * live process took the folder meanwhile, naming it, not the crashed holder.
 */
async function waitOutCrashedHolder(dataDir: string, crashed: DataDirOwner, take: () => Promise<() => Promise<void>>): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_STALE_MS + 2000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 200));
    try {
      return await take();
    } catch (error) {
      if (error instanceof DataDirNotWritableError) throw error;
    }
    const holder = readDataDirOwner(dataDir);
    const someoneElse = holder !== undefined && (holder.pid !== crashed.pid || holder.started_at !== crashed.started_at);
    if ((someoneElse && !hasCrashed(holder)) || Date.now() > deadline) throw new DataDirBusyError(dataDir, holder ?? crashed);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
