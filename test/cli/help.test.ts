import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { CLI, ROOT, startProcess } from "./run-hookline.js";

async function run(args: string[], env: Record<string, string> = {}) {
  const cli = startProcess(CLI, args, env);
  return { code: await cli.exited, stdout: cli.stdout(), stderr: cli.stderr() };
}

// Help as a user piping it sees it: every command described, no colour codes.
describe.concurrent("hookline's help", () => {
  it("`hookline` with no command prints help describing every command, without colour when not a terminal", async () => {
    const help = await run([]);
    expect(help.code).toBe(0);
    expect(help.stdout).not.toContain("\u001b["); // an ANSI escape: colour
    expect(help.stdout).not.toContain("undefined");
    for (const command of ["start", "migrate", "keys", "trigger", "publish", "listen"]) expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\s+\\S.+$`, "m"));
  }, 240_000);

  it("`hookline keys` describes list, create, revoke and rotate", async () => {
    const help = await run(["keys"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("USAGE hookline keys");
    expect(help.stdout).not.toContain("\u001b[");
    expect(help.stdout).not.toContain("undefined");
    for (const command of ["list", "create", "revoke", "rotate"]) expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\s+\\S.+$`, "m"));
  }, 240_000);

  // Issue 25: publish refuses Hookline's own types, so help must not offer them.
  it("`hookline trigger --help` offers only types publish accepts: none of Hookline's own", async () => {
    const help = await run(["trigger", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("build:complete");
    for (const own of ["ping", "hook.disabled", "delivery.exhausted"]) expect(help.stdout).not.toMatch(new RegExp(`[\\s:,]${own.replace(".", "\\.")}(,|\\s|$)`, "m"));
  }, 240_000);

  it("an unknown command prints help and exits non-zero", async () => {
    const help = await run(["frobnicate"]);
    expect(help.code).toBe(1);
    expect(help.stderr).toContain('unknown command "frobnicate"');
  }, 240_000);

  it("`hookline --version` and `-v` print the package's version alone", async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}services/hookline/package.json`, "utf8")) as { version: string };
    for (const flag of ["--version", "-v"]) {
      const answer = await run([flag]);
      expect([answer.code, answer.stdout, answer.stderr]).toEqual([0, `${version}\n`, ""]);
    }
    expect((await run([])).stdout).toMatch(/^\s+-v, --version\s+\S/m);
  }, 240_000);

  // citty padded every help line to its widest entry: hundreds of trailing spaces.
  it("no line of any command's help ends in whitespace", async () => {
    const commands = [
      [], ["start"], ["migrate"], ["keys"], ["keys", "list"], ["keys", "create"], ["keys", "revoke"], ["keys", "rotate"],
      ["trigger"], ["secrets"], ["secrets", "reencrypt"], ["publish"],
    ];
    const padded: string[] = [];
    for (const command of commands) {
      const help = await run([...command, "--help"]);
      expect(help.code, `${command.join(" ")}: ${help.stderr}`).toBe(0);
      for (const line of help.stdout.split("\n")) if (/\s$/.test(line)) padded.push(`hookline ${command.join(" ")}: ${JSON.stringify(line.slice(0, 60))}…`);
    }
    // An unknown command's help goes to stderr: the same rule.
    const unknown = await run(["keys", "frobnicate"]);
    for (const line of unknown.stderr.split("\n")) if (/\s$/.test(line)) padded.push(`unknown: ${JSON.stringify(line.slice(0, 60))}`);
    expect(padded).toEqual([]);
  }, 240_000);

  // A database that has secrets already needs its own key: a new one opens none of them.
  it("a command on PostgreSQL without HOOKLINE_MAIN_SECRET says to set the database's key, not to make a new one", async () => {
    for (const command of [["keys", "list"], ["migrate"], ["start"]]) {
      const refused = await run(command, { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", HOOKLINE_MAIN_SECRET: "" });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/HOOKLINE_MAIN_SECRET is required with DATABASE_URL .*set it to the key this database's server runs with/);
      expect(refused.stderr).not.toMatch(/; make one with/);
    }
  }, 240_000);
});
