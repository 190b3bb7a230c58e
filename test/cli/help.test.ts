import { describe, expect, it } from "vitest";
import { CLI, startProcess } from "./run-hookline.js";

async function run(args: string[]) {
  const cli = startProcess(CLI, args, {});
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

  it("an unknown command prints help and exits non-zero", async () => {
    const help = await run(["frobnicate"]);
    expect(help.code).toBe(1);
    expect(help.stderr).toContain('unknown command "frobnicate"');
  }, 240_000);
});
