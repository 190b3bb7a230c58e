import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, openBrowser, type TestBrowser } from "../support/browser.js";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";
import { TEST_ADMIN_TOKEN } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/** A platform's page on another origin that frames the portal link it is given (`?link=`). */
async function startEmbeddingPage(): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    const link = new URL(req.url!, "http://x").searchParams.get("link") ?? "";
    const escaped = link.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>Platform</title><h1>Our platform</h1><iframe title="Webhooks portal" src="${escaped}" width="1200" height="1400"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/**
 * Issue 21's portal in Chromium: a platform's page on another site
 * (`localhost:<port>` framing `127.0.0.1:<port>`) embeds a customer's
 * portal and the customer works in it by clicking; a page not on the
 * account's allow-list cannot frame it; one customer never sees another's.
 */
describe.runIf(hasChromium() || process.env.CI === "true")("the customer portal in Chromium", () => {
  let stack: DeliveryStack;
  let browser: TestBrowser;
  let allowed: { port: number; server: Server };
  let refused: { port: number; server: Server };
  let admin: ReturnType<typeof specClient>;
  let bravoHook: number;

  const link = async (accountId: string, body: Record<string, unknown> = {}) =>
    (await admin.call("POST", `/v1/accounts/${accountId}/portal-sessions`, { body })).body.url as string;

  beforeAll(async () => {
    stack = await startDeliveryStack(testBackends()[0]!, FAST_DELIVERY_ENV);
    admin = specClient(stack.server.url, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/alpha`, events: ["*"], name: "Alpha receiver" } });
    const bravo = await stack.server.newAccount("bravo");
    const asBravo = specClient(stack.server.url, { authorization: `Bearer ${bravo.key}` });
    bravoHook = (await asBravo.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/bravo`, events: ["*"], name: "Bravo receiver" } })).body.id;
    allowed = await startEmbeddingPage();
    refused = await startEmbeddingPage();
    const settings = { frame_ancestors: [`http://localhost:${allowed.port}`], brand_name: "Acme Billing", brand_color: "#0b7a75" };
    expect((await admin.call("PUT", `/v1/accounts/${stack.account.id}/portal-settings`, { body: settings })).status).toBe(200);
    browser = await openBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    allowed?.server.close();
    refused?.server.close();
    await stack?.close();
  });

  it("works framed by a platform's page on another site: sends a test event and reads its delivery, by clicking", { timeout: 180_000 }, async () => {
    const { page } = browser;
    await page.goto(`http://localhost:${allowed.port}/?link=${encodeURIComponent(await link(stack.account.id))}`);
    const portal = page.frameLocator("iframe");
    await portal.getByRole("heading", { name: "Hooks", level: 1 }).waitFor();
    expect(await portal.getByText("Acme Billing").count()).toBeGreaterThan(0);
    expect(await portal.getByRole("link", { name: "API keys" }).count()).toBe(0);
    expect(await portal.getByText("Bravo receiver").count()).toBe(0);
    await browser.screenshot("portal-framed-hooks");

    await portal.getByRole("link", { name: "Alpha receiver" }).click();
    await portal.getByLabel("Event type").selectOption("build:complete");
    await portal.getByRole("button", { name: "Load example" }).click();
    await portal.getByRole("button", { name: "Send test event" }).click();
    await portal.getByText(/Test event #\d+ sent/).waitFor();
    await stack.receiver.waitFor(1);
    await eventually(async () => {
      await portal.getByRole("link", { name: "Refresh" }).click();
      return (await portal.locator("#deliveries").innerText()).includes("succeeded") ? true : undefined;
    }, 20_000, "the test delivery shown as succeeded in the portal");
    await browser.screenshot("portal-framed-hook");
    await portal.locator("#deliveries a").first().click();
    await portal.getByRole("heading", { name: /^Delivery #\d+$/ }).waitFor();
    await browser.screenshot("portal-framed-delivery");

    // Rotating the secret shows it once, inside the frame.
    await portal.getByRole("link", { name: "Alpha receiver" }).click();
    await portal.getByRole("button", { name: "Rotate secret" }).click();
    expect(await portal.locator("#new-secret").innerText()).toMatch(/^whsec_/);
    expect(browser.blocked).toEqual([]);
  });

  it("cannot be framed by a page that is not on the account's allow-list", { timeout: 120_000 }, async () => {
    const { page } = browser;
    await page.goto(`http://localhost:${refused.port}/?link=${encodeURIComponent(await link(stack.account.id))}`);
    await page.getByRole("heading", { name: "Our platform" }).waitFor();
    await eventually(async () => (browser.errors.some((e) => e.includes("frame-ancestors")) ? true : undefined), 20_000, "Chromium refusing the frame");
    expect(await page.frameLocator("iframe").getByRole("heading", { name: "Hooks" }).count()).toBe(0);
    await browser.screenshot("portal-frame-refused");
  });

  it("never shows one customer another's hook, and refuses a used or expired link", { timeout: 120_000 }, async () => {
    const { page } = browser;
    const once = await link(stack.account.id, { read_only: true });
    await page.goto(once);
    await page.getByRole("heading", { name: "Hooks", level: 1 }).waitFor();
    expect(await page.getByText("read-only").count()).toBeGreaterThan(0);
    expect(await page.getByRole("link", { name: "New hook" }).count()).toBe(0);
    await browser.screenshot("portal-read-only");
    expect((await page.goto(`${stack.server.url}/portal/hooks/${bravoHook}`))!.status()).toBe(404);
    expect(await page.content()).not.toContain("Bravo receiver");
    await page.getByRole("link", { name: "Events" }).click();
    await page.getByRole("heading", { name: "Events", level: 1 }).waitFor();
    await browser.screenshot("portal-events");

    expect((await page.goto(once))!.status()).toBe(403);
    await page.getByText("expired or was already used").waitFor();
    const expiring = await link(stack.account.id, { ttl_seconds: 60 });
    await stack.database.store.db.updateTable("portal_sessions").set({ link_expires_at: new Date(Date.now() - 1000) }).where("redeemed_at", "is", null).execute();
    expect((await page.goto(expiring))!.status()).toBe(403);
    await browser.screenshot("portal-link-refused");
  });
});
