import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./run-hookline.js";

/*
 * Unattended npx: on a machine that has never fetched a package, `npx <pkg>`
 * asks "Ok to proceed?" on a terminal and, without one (a script, a
 * container build, CI), stops at once: "npx canceled due to missing packages
 * and no YES option". Every npx the README, the docs and the scripts tell
 * someone to run carries `--yes`.
 */

const SKIP = new Set(["node_modules", ".git", "dist", ".stryker-tmp", "generated"]);

/** The repository's documents and scripts: Markdown, package.json files and the scripts under .ci/ and bench/. */
function documentsAndScripts(dir = ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...documentsAndScripts(path));
    else if (/\.(md|mjs|sh)$|^package\.json$|^Dockerfile/.test(entry.name)) found.push(path);
  }
  return found;
}

/** Every `npx …` invocation in a text, up to the end of its command (line end, `&&`, `;`, `|`, backtick, quote). */
function npxInvocations(text: string): string[] {
  return [...text.matchAll(/\bnpx\b[^\n&;|`'"]*/g)].map((m) => m[0].trim());
}

/** The README's `# run:` line: its commands, split at `&&`. */
function readmeRunCommands(): string[][] {
  const line = readFileSync(join(ROOT, "README.md"), "utf8")
    .split("\n")
    .find((l) => /#\s*run:/.test(l));
  if (!line) throw new Error("README.md has no `# run:` command line");
  return line
    .split("#")[0]!
    .split("&&")
    .map((c) => c.trim().split(/\s+/));
}

describe("the README's and docs' npx commands run unattended", () => {
  it("every npx in a document or script passes --yes before its package", () => {
    const prompting: string[] = [];
    for (const file of documentsAndScripts()) {
      for (const call of npxInvocations(readFileSync(file, "utf8"))) {
        // A bare `npx` is the array form (`spawn("npx", [...])`), checked below.
        if (call !== "npx" && !/^npx (--yes|-y)\b/.test(call)) prompting.push(`${relative(ROOT, file)}: ${call}`);
      }
    }
    // The scripts passing npx its arguments as an array (.ci/) are checked by the same rule on their text.
    const ci = readFileSync(join(ROOT, ".ci/owasp-rate-limits.mjs"), "utf8");
    for (const match of ci.matchAll(/"npx",\s*\[([^\]]*)\]/g)) {
      if (!/^\s*"(--yes|-y)"/.test(match[1]!)) prompting.push(`.ci/owasp-rate-limits.mjs: npx ${match[1]}`);
    }
    expect(prompting).toEqual([]);
  });

  it("the README's first npx fetches its package without a terminal on a machine that never fetched it", () => {
    const [command, ...args] = readmeRunCommands()[0]!;
    expect(command).toBe("npx");
    // The install's own work is not the point here: the same npx call, asking the fetched pnpm for its version.
    const pkgIndex = args.findIndex((a) => !a.startsWith("-"));
    const cache = mkdtempSync(join(tmpdir(), "hookline-npx-cache-"));
    try {
      const env: Record<string, string | undefined> = { ...process.env, npm_config_cache: cache };
      for (const name of Object.keys(env)) if (/^npm_config_yes$|^CI$/i.test(name)) delete env[name];
      const run = spawnSync(command!, [...args.slice(0, pkgIndex + 1), "--version"], {
        cwd: tmpdir(),
        env,
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
        timeout: 170_000,
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(args[pkgIndex]!.split("@")[1]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 180_000);
});
