import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, MAIN, startProcess } from "./run-hookline.js";

// The README's run command, as a new user meets it: no configuration, an
// empty data folder, one process. It must print a working key and the docs
// URL; while it runs, the CLI manages keys and triggers events through it,
// and a second server on the same folder is refused before touching it.
const dataDir = mkdtempSync(join(tmpdir(), "hookline-quickstart-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs a CLI command to completion. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const run = startProcess(CLI, args, { HOOKLINE_DATA_DIR: dataDir, ...env });
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe("the embedded quickstart (PGlite, no setup)", () => {
  it("starts, prints a working API key and the /docs URL, serves the CLI, refuses a second owner, and stops cleanly", async () => {
    const hookline = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dataDir, HOOKLINE_ALLOW_PRIVATE_TARGETS: "true" });
    try {
      const [, url] = await hookline.waitFor(/running at (http:\/\/\S+)/, 240_000);
      // stdout is a pipe (a log, not a terminal): the key is in a file only
      // this user can read, named in the banner, and never in the output.
      const [, keyFile] = await hookline.waitFor(/API key is in (\S+) \(readable only by this user\)/);
      expect(keyFile).toBe(join(dataDir, "hookline-initial-api-key"));
      expect(statSync(keyFile!).mode & 0o777).toBe(0o600);
      const key = readFileSync(keyFile!, "utf8").trim();
      expect(key).toMatch(/^hkl_\S+$/);
      expect(hookline.output()).not.toContain(key);
      expect(hookline.output()).toContain(`${url}/docs`);
      expect(hookline.output()).toContain(`PGlite in ${dataDir}`);

      const created = await fetch(`${url}/v1/hooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ url: "http://127.0.0.1:9/quickstart", events: ["*"] }),
      });
      expect(created.status).toBe(201);
      const docs = await fetch(`${url}/docs`);
      expect(docs.status).toBe(200);
      const page = await docs.text();
      expect(page).toContain("/openapi.json");
      // The reference's script is served by Hookline itself, not a CDN.
      expect(page).toContain("/docs/scalar.js");
      const script = await fetch(`${url}/docs/scalar.js`);
      expect(script.headers.get("content-type")).toMatch(/javascript/);
      expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
      // The spec names the URL actually served; / leads to the reference.
      expect((await (await fetch(`${url}/openapi.json`)).json()).servers[0].url).toBe(url);
      expect(await (await fetch(`${url}/openapi.yaml`)).text()).toContain(`url: ${url}`);
      const root = await fetch(`${url}/`, { redirect: "manual" });
      expect([root.status, root.headers.get("location")]).toEqual([302, "/docs"]);

      // A second server on the same folder is refused at once, naming the holder.
      const second = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dataDir });
      expect(await second.exited).toBe(1);
      expect(second.stderr().trimEnd().split("\n")).toEqual([expect.stringMatching(new RegExp(`is in use by process \\d+ on \\S+ \\(hookline server at ${url}\\)`))]);

      // Keys through the running server: a new key works at once; list shows
      // prefixes, never keys; a revoked key is refused at once.
      const made = await cli(["keys", "create", "--name", "while running"]);
      expect(made.code, made.stderr).toBe(0);
      const newKey = made.stdout.match(/^(hkl_\S+)$/m)![1]!;
      const asNew = () => fetch(`${url}/v1/hooks`, { headers: { authorization: `Bearer ${newKey}` } }).then((r) => r.status);
      expect(await asNew()).toBe(200);
      const listed = await cli(["keys", "list", "--json"]);
      const keys = JSON.parse(listed.stdout) as Array<{ id: number; name: string; key_prefix: string; last_used_at: string | null }>;
      expect(keys.map((k) => k.name)).toEqual(["quickstart key", "while running"]);
      expect(listed.stdout).not.toContain(newKey);
      expect(keys[1]!.key_prefix).toBe(newKey.slice(0, 8));
      expect(keys[1]!.last_used_at).not.toBeNull();

      // trigger publishes the spec's example through the API with a key.
      const triggered = await cli(["trigger", "build:complete", "--subject", "acme/api"], { HOOKLINE_API_KEY: newKey });
      expect(triggered.code, triggered.stderr).toBe(0);
      expect(triggered.stdout).toMatch(/Published build:complete as event \S+ to 1 hook/);

      // publish sends a file's events through the batch API: the file's text
      // as written (a number beyond 2^53 stays exact), one line per event, a
      // refused event (a reserved type) named, and exit 1 because of it.
      const file = join(dataDir, "events.json");
      writeFileSync(file, '[{"type":"order.paid","data":{"order_id":9007199254740993}},{"type":"ping","data":{}}]');
      const published = await cli(["publish", file], { HOOKLINE_API_KEY: newKey });
      expect(published.code, published.stderr).toBe(1);
      const lines = published.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: number; id?: number; problem?: { errors?: Array<{ path: string }> } });
      expect(lines.map((line) => line.status)).toEqual([202, 400]);
      expect(lines[1]!.problem!.errors![0]!.path).toBe("body.events.1.type");
      const stored = await fetch(`${url}/v1/events/${lines[0]!.id}`, { headers: { authorization: `Bearer ${newKey}` } });
      expect(await stored.text()).toContain('"data":{"order_id":9007199254740993}');

      const revoked = await cli(["keys", "revoke", String(keys[1]!.id)]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(await asNew()).toBe(401);
    } finally {
      hookline.child.kill("SIGTERM");
    }
    expect(await hookline.exited).toBe(0);

    // The data folder keeps the account: a second start prints no new key but a hint.
    const again = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dataDir });
    try {
      await again.waitFor(/running at/, 240_000);
      expect(again.output()).not.toMatch(/hkl_/);
      expect(again.output()).toContain("hookline keys create");
    } finally {
      again.child.kill("SIGTERM");
    }
    expect(await again.exited).toBe(0);

    // With no server, the CLI opens the folder itself (and locks it meanwhile).
    const direct = await cli(["keys", "create", "--name", "second"]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toMatch(/^hkl_\S+$/m);
  }, 900_000);
});
