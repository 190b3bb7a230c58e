import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..");
/** Domain folders: they speak in domain errors and types, never in HTTP terms. */
const DOMAIN = ["domain", "hooks", "events", "delivery", "store", "signing", "targets"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name));
}

describe("layering", () => {
  it("domain code imports nothing from http/ (STYLE: the domain has its own error model)", () => {
    const offenders: string[] = [];
    for (const folder of DOMAIN) {
      for (const file of sourceFiles(join(SRC, folder))) {
        const imports = readFileSync(file, "utf8").matchAll(/from\s+["']([^"']+)["']/g);
        for (const [, spec] of imports) {
          if (/(^|\/)http\//.test(spec!) || /hono/.test(spec!)) offenders.push(`${relative(SRC, file)} → ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
