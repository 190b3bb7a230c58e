import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import { stringify as toYaml } from "yaml";
import type { OpenApiDocument } from "../spec/openapi-document.js";
import type { AppEnv } from "./app-env.js";

const SCALAR_BUNDLE_PATH = "/docs/scalar.js";

/**
 * Scalar with nothing that reaches a third-party host: system fonts instead
 * of fonts.scalar.com, no "Ask AI" agent, no "Generate MCP", no developer
 * toolbar ("Deploy"), no link to the hosted API client, no telemetry. Its
 * generated Ruby/PHP/Python/… snippets are hidden: every operation carries
 * `x-codeSamples` (the SDK and curl; openapi/scripts/code-samples.mjs).
 */
const SCALAR_OPTIONS = {
  url: "/openapi.json",
  pageTitle: "Hookline API",
  cdn: SCALAR_BUNDLE_PATH,
  withDefaultFonts: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: "never",
  telemetry: false,
  hiddenClients: true,
  hideClientButton: true,
} as const;

/**
 * The spec as served (`/openapi.json`, `/openapi.yaml`) and the interactive
 * reference (`/docs`). Scalar's browser bundle is served from this process
 * rather than a CDN, so the reference works offline and behind strict egress.
 */
export function createApiDocsRouter(document: OpenApiDocument, publicUrl: string | undefined) {
  // The spec lists the URL this server is reached at: HOOKLINE_PUBLIC_URL, or
  // the origin of the request (so "Try it" in /docs calls this server, on
  // whatever port it runs).
  const served = (origin: string) => ({
    ...document,
    servers: [{ url: (publicUrl ?? origin).replace(/\/+$/, ""), description: publicUrl ? "This server (HOOKLINE_PUBLIC_URL)" : "This server" }],
  });
  const yamlByOrigin = new Map<string, string>();
  const require = createRequire(import.meta.url);
  const scalarRoot = join(dirname(require.resolve("@scalar/api-reference")), "..");
  let scalarBundle: Buffer | undefined;

  return new Hono<AppEnv>()
    .get("/", (c) => c.redirect("/docs", 302))
    .get("/openapi.json", (c) => c.json(served(new URL(c.req.url).origin)))
    .get("/openapi.yaml", (c) => {
      const origin = new URL(c.req.url).origin;
      let yaml = yamlByOrigin.get(origin);
      if (yaml === undefined) {
        yaml = toYaml(served(origin));
        // Bounded: a client could send any Host header.
        if (yamlByOrigin.size < 16) yamlByOrigin.set(origin, yaml);
      }
      return c.body(yaml, 200, { "content-type": "application/yaml; charset=utf-8" });
    })
    .get("/docs", Scalar(SCALAR_OPTIONS))
    .get(SCALAR_BUNDLE_PATH, (c) => {
      scalarBundle ??= readFileSync(join(scalarRoot, "dist/browser/standalone.js"));
      return c.body(new Uint8Array(scalarBundle), 200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=86400",
      });
    });
}
