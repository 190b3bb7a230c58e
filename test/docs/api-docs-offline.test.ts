import { loadOpenApiDocument } from "@hookline/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, openBrowser, type TestBrowser } from "../support/browser.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";

const METHODS = ["get", "put", "post", "patch", "delete"] as const;
interface Operation { tags?: string[]; "x-codeSamples"?: Array<{ lang: string; label: string; source: string }> }

/** Every operation of the bundled spec as Scalar links it: `#tag/<tag>/<METHOD><path>`. */
function operations() {
  const paths = loadOpenApiDocument().paths ?? {};
  return Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => {
      const op = item[m] as Operation;
      return { path, method: m, op, anchor: `#tag/${op.tags![0]!.toLowerCase().replace(/\s+/g, "-")}/${m.toUpperCase()}${path}` };
    }),
  );
}

describe("the spec's code samples", () => {
  it("give every operation an @hookline/sdk call and a curl command", () => {
    const missing = operations()
      .filter(({ op }) => {
        const labels = (op["x-codeSamples"] ?? []).map((s) => s.label);
        return !labels.includes("@hookline/sdk") || !labels.includes("curl");
      })
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    // Fix: node openapi/scripts/code-samples.mjs && pnpm generate
    expect(missing).toEqual([]);
  });
});

/** Issue 13 item 5: /docs works with every non-loopback request blocked. */
describe.runIf(hasChromium() || process.env.CI === "true")("/docs offline, in Chromium", () => {
  let database: TestDatabase;
  let server: TestServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    database = await testBackends()[0]!.create();
    server = await startTestServer(database);
    browser = await openBrowser();
  }, 240_000); // a database and Chromium take over a minute to start on a loaded two-core machine
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.dispose();
  });

  // Generous: Chromium and the Scalar bundle start slowly on a loaded two-core machine.
  it("renders every operation with the SDK and curl samples, no third-party request, no error", { timeout: 120_000 }, async () => {
    const { page } = browser;
    await page.goto(`${server.url}/docs`, { waitUntil: "networkidle" });
    await page.getByRole("link", { name: "Create a hook" }).first().waitFor();
    // Scalar opens the first tag only; open the others to list their operations.
    // A clicked button becomes "Close Group", so always click the first still closed (bounded).
    const closed = page.getByRole("button", { name: /^Open Group - / });
    for (let i = 0; i < 30 && (await closed.count()) > 0; i++) await closed.first().click();
    const anchors = await page.evaluate(() => [...document.querySelectorAll("a[href^='#tag/']")].map((a) => a.getAttribute("href")));
    expect(anchors).toEqual(expect.arrayContaining(operations().map((o) => o.anchor)));

    await page.goto(`${server.url}/docs#tag/events/POST/v1/events`, { waitUntil: "networkidle" });
    await page.getByText('hookline.POST("/v1/events"').first().waitFor();
    await page.getByRole("button", { name: "@hookline/sdk" }).first().click();
    await page.getByRole("option", { name: "curl" }).first().waitFor();
    await page.keyboard.press("Escape");
    await browser.screenshot("docs-publish-event", false);

    for (const thirdParty of ["Ask AI", "Generate MCP", "Deploy", "Open API Client"]) {
      expect(await page.getByText(thirdParty, { exact: true }).count(), thirdParty).toBe(0);
    }
    expect(await page.getByText(/Ruby|PHP|Python/).count()).toBe(0);
    expect(browser.blocked).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});
