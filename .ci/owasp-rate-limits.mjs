// Runs Spectral's OWASP API Security ruleset over the bundled spec and fails
// when any rate-limit rule fires (issue 14: every keyed operation documents
// its 429 and RateLimit headers). Other OWASP findings are printed as a
// summary, not failed on: they are known and tracked separately.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";

mkdirSync(".tmp", { recursive: true });
const out = ".tmp/spectral-owasp.json";
const run = spawnSync("npx", ["--yes", "spectral", "lint", "openapi/generated/openapi.json", "-r", ".spectral.yaml", "-f", "json", "-o", out, "-q"], { stdio: "inherit" });
if (run.error) throw run.error;
// Spectral exits 1 when it finds errors; anything else is a crash.
if (run.status !== 0 && run.status !== 1) process.exit(run.status ?? 2);
const findings = JSON.parse(readFileSync(out, "utf8"));
const byRule = {};
for (const f of findings) byRule[f.code] = (byRule[f.code] ?? 0) + 1;
console.log("Spectral OWASP findings by rule:", byRule);
const rateLimit = findings.filter((f) => /rate-limit/.test(f.code));
if (rateLimit.length > 0) {
  for (const f of rateLimit) console.error(`${f.code}: ${f.message} at ${f.path.join(".")}`);
  process.exit(1);
}
console.log("No rate-limit findings.");
