import postgres from "postgres";

/** A database created for one benchmark part; `drop()` removes it. */
export type ScratchDb = { name: string; url: string; drop: () => Promise<void> };

const live = new Map<string, string>();

/**
 * Creates a uniquely named database next to the admin URL's, so the bench
 * never writes into a shared database that other people's tests use.
 *
 * @example
 * const db = await createScratchDb("postgres://postgres@127.0.0.1:5432/test", "graphile")
 * try { ... db.url ... } finally { await db.drop() }
 */
export async function createScratchDb(adminUrl: string, label: string): Promise<ScratchDb> {
  const name = `hookline_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  live.set(name, adminUrl);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => dropDatabase(adminUrl, name) };
}

/** Drops every scratch database still alive; for Ctrl-C, after the children are killed. */
export async function dropAllScratchDbs(): Promise<void> {
  await Promise.allSettled([...live].map(([name, adminUrl]) => dropDatabase(adminUrl, name)));
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  live.delete(name);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // FORCE: a child process killed mid-run may still hold connections.
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}
