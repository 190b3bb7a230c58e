import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, MAIN, startProcess, type StartedProcess } from "./run-hookline.js";

/*
 * The kind: a CLI command that needs admin rights on this machine's embedded
 * server demanded a credential the server already lends the CLI. `keys`
 * used the admin token the embedded server records beside its lock (owner
 * file, mode 0600); `hookline portal <account>` demanded
 * HOOKLINE_ADMIN_TOKEN and `hookline portal` HOOKLINE_API_KEY. Every such
 * command now takes the embedded server's token and default account, and
 * only for that server: never sent to another --url.
 */
describe("CLI admin commands on the embedded server", () => {
  let dir: string;
  let server: StartedProcess;
  let owner: { admin_token: string; default_account: string; url: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hookline-embedded-admin-"));
    server = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dir });
    await server.waitFor(/running at/, 240_000);
    owner = JSON.parse(readFileSync(join(dir, "hookline-owner.json"), "utf8"));
    expect(owner.default_account).toBeTruthy();
  }, 300_000);
  afterAll(async () => {
    server?.child.kill("SIGTERM");
    await Promise.race([server?.exited, new Promise((r) => setTimeout(r, 30_000))]);
    rmSync(dir, { recursive: true, force: true });
  });

  // No HOOKLINE_ADMIN_TOKEN and no HOOKLINE_API_KEY: only the data folder.
  const env = () => ({ HOOKLINE_DATA_DIR: dir, HOOKLINE_ADMIN_TOKEN: "", HOOKLINE_API_KEY: "" });

  it("`hookline portal <account>` makes a link with the embedded server's own admin token", async () => {
    const cli = startProcess(CLI, ["portal", owner.default_account], env());
    expect(await cli.exited, cli.output()).toBe(0);
    expect(cli.stdout()).toMatch(new RegExp(`^${owner.url.replace(/[.[\]]/g, "\\$&")}/portal/\\S+`, "m"));
  }, 120_000);

  it("`hookline portal` makes a link for the default account", async () => {
    const cli = startProcess(CLI, ["portal", "--read-only"], env());
    expect(await cli.exited, cli.output()).toBe(0);
    expect(cli.stdout()).toMatch(/\/portal\/\S+/);
    expect(cli.stderr()).toMatch(/read-only/);
  }, 120_000);

  it("`hookline keys list` still goes through the embedded server", async () => {
    const cli = startProcess(CLI, ["keys", "list"], env());
    expect(await cli.exited, cli.output()).toBe(0);
    expect(cli.stdout()).toMatch(/quickstart key/);
  }, 120_000);

  it("the embedded server's token is never sent to another --url", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(401, { "content-type": "application/problem+json" }).end('{"type":"about:blank","title":"no","status":401}');
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      for (const args of [["portal", owner.default_account, "--url", url], ["keys", "list", "--url", url]]) {
        const cli = startProcess(CLI, args, env());
        expect(await cli.exited, cli.output()).toBe(1);
      }
      expect(seen.map((h) => h.authorization ?? "")).not.toContainEqual(expect.stringContaining(owner.admin_token));
    } finally {
      other.close();
    }
  }, 120_000);
});
