import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OPENAPI_BUNDLE_PATH } from "@hookline/server";
import { afterAll, describe, expect, it } from "vitest";

// openapi/generated/openapi.json is what the server serves and reads event
// schemas from; it must be exactly what bundling openapi/openapi.yaml makes now.
const root = fileURLToPath(new URL("../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "hookline-bundle-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("generated files are fresh", () => {
  it("openapi/generated/openapi.json is the current bundle of openapi/openapi.yaml", () => {
    const fresh = join(scratch, "openapi.json");
    execFileSync(join(root, "node_modules/.bin/redocly"), ["bundle", "openapi/openapi.yaml", "-o", fresh], { cwd: root, stdio: "pipe" });
    expect(
      JSON.parse(readFileSync(OPENAPI_BUNDLE_PATH, "utf8")),
      "openapi/generated/openapi.json is stale: run `pnpm generate` and commit the result",
    ).toEqual(JSON.parse(readFileSync(fresh, "utf8")));
  });
});
