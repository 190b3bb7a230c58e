import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, MAIN, startProcess } from "./run-hookline.js";

// The README's run command, as a new user meets it: no configuration, an
// empty data folder, one process. It must print a working key and the docs URL.
const dataDir = mkdtempSync(join(tmpdir(), "hookline-quickstart-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("the embedded quickstart (PGlite, no setup)", () => {
  it("starts, prints a working API key and the /docs URL, and stops cleanly on SIGTERM", async () => {
    const hookline = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dataDir, HOOKLINE_ALLOW_PRIVATE_TARGETS: "true" });
    try {
      const [, url] = await hookline.waitFor(/running at (http:\/\/\S+)/, 60_000);
      const [, key] = await hookline.waitFor(/^\s+(hkl_\S+)$/m);
      expect(hookline.output()).toContain(`${url}/docs`);

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
    } finally {
      hookline.child.kill("SIGTERM");
    }
    expect(await hookline.exited).toBe(0);

    // The data folder keeps the account: a second start prints no new key, and
    // the CLI makes another key for the default account.
    const again = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dataDir });
    try {
      await again.waitFor(/running at/, 60_000);
      expect(again.output()).not.toMatch(/hkl_/);
    } finally {
      again.child.kill("SIGTERM");
    }
    expect(await again.exited).toBe(0);

    const cli = startProcess(CLI, ["keys", "create", "--name", "second"], { HOOKLINE_DATA_DIR: dataDir });
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/^hkl_\S+$/m);
  }, 120_000);
});
