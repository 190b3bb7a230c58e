import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { migrateToLatest, openStore, type Store } from "./database.js";
import { EMBEDDED_SHARED_BUFFERS, initdbApart, needsInitdb } from "./pglite-data-dir.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The initdb child working on `dataDir`, as `ps` sees it (its command line names the folder, and PGlite). */
function initdbChild(dataDir: string): { pid: number; rssKb: number } | undefined {
  const processes = execFileSync("ps", ["-eo", "pid=,rss=,args="], { encoding: "utf8" }).split("\n");
  const [pid, rssKb] =
    processes
      .find((line) => line.includes(dataDir) && line.includes("PGlite"))
      ?.trim()
      .split(/\s+/)
      .map(Number) ?? [];
  return pid && rssKb !== undefined ? { pid, rssKb } : undefined;
}

/**
 * The embedded database's footprint (bench/README.md, "default start"): a
 * new data folder is created by a child process, so the server only ever
 * opens an existing one, and PGlite runs with Hookline's shared buffers.
 */
describe("the embedded data folder", () => {
  const scratch: string[] = [];
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const scratchDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "hookline-pglite-"));
    scratch.push(dir);
    return dir;
  };

  it("is created apart, then opened as an existing database that keeps what it was given", async () => {
    const dataDir = join(scratchDir(), "data");
    expect(needsInitdb(dataDir)).toBe(true);
    await initdbApart(dataDir);
    expect(needsInitdb(dataDir), "the child left a database in the folder").toBe(false);

    store = await openStore({ databaseUrl: undefined, dataDir, poolSize: 1 });
    await migrateToLatest(store);
    await sql`insert into accounts (id, name) values ('acc_kept', 'kept')`.execute(store.db);
    await store.close();

    store = await openStore({ databaseUrl: undefined, dataDir, poolSize: 1 });
    const { rows } = await sql<{ name: string }>`select name from accounts where id = 'acc_kept'`.execute(store.db);
    expect(rows).toEqual([{ name: "kept" }]);
  });

  it("a first openStore on a new folder creates the database there, in a child process", async () => {
    const dataDir = join(scratchDir(), "fresh");
    const opening = openStore({ databaseUrl: undefined, dataDir, poolSize: 1 });
    let opened = false;
    void opening.then(() => (opened = true), () => (opened = true));
    let childSeen = false;
    while (!opened && !childSeen) {
      childSeen = initdbChild(dataDir) !== undefined;
      await sleep(20);
    }
    store = await opening;
    expect(childSeen, "initdb ran in a child process, not in this one").toBe(true);
    expect(needsInitdb(dataDir)).toBe(false);
    await migrateToLatest(store);
  });

  it("runs with Hookline's shared buffers, on disk and in memory", async () => {
    for (const dataDir of [join(scratchDir(), "disk"), "memory://"]) {
      store = await openStore({ databaseUrl: undefined, dataDir, poolSize: 1 });
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(store.db);
      expect(rows[0]?.shared_buffers, dataDir).toBe(EMBEDDED_SHARED_BUFFERS);
      await store.close();
      store = undefined;
    }
  });

  it("an in-memory database needs no initdb apart (it lives in the process)", () => {
    expect(needsInitdb("memory://")).toBe(false);
  });

  it("its child dies with the process that started it (killed mid-initdb: no cleanup), before writing a database nobody locks", async () => {
    const dataDir = join(scratchDir(), "orphaned");
    const module = new URL("./pglite-data-dir.ts", import.meta.url).href;
    const script = `const { initdbApart } = await import(${JSON.stringify(module)}); await initdbApart(process.argv[1]);`;
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, dataDir], {
      cwd: fileURLToPath(new URL("../../../..", import.meta.url)),
      stdio: "ignore",
    });
    const exited = once(parent, "exit");
    // Killed deep in initdb (its heap grown past 450 MB, of ≈800), when the child's main thread is busy for seconds on end.
    while ((initdbChild(dataDir)?.rssKb ?? 0) < 450_000 && parent.exitCode === null) await sleep(20);
    parent.kill("SIGKILL");
    await exited;
    expect(parent.signalCode, "killed mid-initdb").toBe("SIGKILL");
    for (let waited = 0; initdbChild(dataDir) && waited < 60_000; waited += 100) await sleep(100);
    expect(initdbChild(dataDir), "the child is gone").toBeUndefined();
    expect(existsSync(join(dataDir, "PG_VERSION")), "no database was written after its parent died").toBe(false);
  }, 90_000);

  it("a folder that cannot be created fails with its path, and leaves nothing behind", async () => {
    const parent = scratchDir();
    writeFileSync(join(parent, "a-file"), "not a folder");
    const dataDir = join(parent, "a-file", "data");
    await expect(initdbApart(dataDir)).rejects.toThrow(`Could not create the embedded database in ${dataDir}`);
    expect(needsInitdb(dataDir)).toBe(true);
  });

  it("a failure says why in one line: PGlite's error, the timeout, or the signal that killed the child", async () => {
    const parent = scratchDir();
    writeFileSync(join(parent, "base"), "in initdb's way");
    await expect(initdbApart(parent)).rejects.toThrow(
      /^Could not create the embedded database in .+: ErrnoError \{ name: 'ErrnoError', errno: \d+ \}$/,
    );
    await expect(initdbApart(join(scratchDir(), "slow"), 200)).rejects.toThrow(/: initdb did not finish within 0\.2 s$/);

    const dataDir = join(scratchDir(), "killed");
    const creating = initdbApart(dataDir);
    for (let waited = 0; !initdbChild(dataDir) && waited < 30_000; waited += 20) await sleep(20);
    process.kill(initdbChild(dataDir)?.pid ?? 0, "SIGKILL");
    await expect(creating).rejects.toThrow(/: the process running initdb was killed \(SIGKILL: out of memory\?\)$/);
  }, 60_000);
});
