import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, openBrowser, type TestBrowser } from "../support/browser.js";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

const RECEIVER_SAYS = "receiver-says-thanks-7c1e";

/**
 * Issue 11: a person answers "did my webhook arrive, what did the receiver
 * say, send it again" from the browser alone. Runs on the embedded database
 * (what a newcomer runs); the app.request() suite covers both databases.
 */
describe.runIf(hasChromium() || process.env.CI === "true")("the dashboard in Chromium", () => {
  let stack: DeliveryStack;
  let browser: TestBrowser;
  let hookId: number;

  beforeAll(async () => {
    stack = await startDeliveryStack(testBackends()[0]!, FAST_DELIVERY_ENV, (_request, res) => {
      res.writeHead(200, { "content-type": "application/json", "x-receiver": "dashboard-test" }).end(JSON.stringify({ ok: true, note: RECEIVER_SAYS }));
    });
    const created = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/hook`, events: ["*"], name: "Orders receiver" } });
    hookId = created.body.id;
    browser = await openBrowser();
  }, 240_000); // a PGlite stack and Chromium take over a minute to start on a loaded two-core machine
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** Reloads until `text` shows (the pages have no script: a person presses Refresh). */
  const reloadUntil = (text: string | RegExp, what: string) =>
    eventually(async () => {
      await browser.page.reload();
      return (await browser.page.getByText(text).count()) > 0 ? true : undefined;
    }, 20_000, what);

  // Generous: Chromium starts slowly on a loaded two-core machine.
  it("signs in, shows a delivery and the receiver's answer, redelivers, sends a test event and pauses the hook", { timeout: 180_000 }, async () => {
    const { page } = browser;
    const base = stack.server.url;

    await page.goto(`${base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/sign-in");
    await page.getByLabel("API key").fill(stack.account.key);
    await browser.screenshot("dashboard-sign-in");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Hooks", level: 1 }).waitFor();
    await page.getByRole("link", { name: "Orders receiver" }).waitFor();
    await browser.screenshot("dashboard-hooks");

    const published = await stack.api.call("POST", "/v1/events", { body: { type: "order.created", data: { order: 1042 } } });
    expect(published.status).toBe(202);
    await page.getByRole("link", { name: "Orders receiver" }).click();
    await reloadUntil("succeeded", "the delivery shown as succeeded");
    await browser.screenshot("dashboard-hook-deliveries");

    await page.locator("#deliveries a").first().click();
    await page.getByRole("heading", { name: /^Delivery #\d+$/ }).waitFor();
    expect(await page.locator(".response-body").first().innerText()).toContain(RECEIVER_SAYS);
    expect(await page.getByRole("cell", { name: "dashboard-test" }).count()).toBe(1);
    // What was sent: the event's data, and the attempt's recorded request body.
    expect(await page.getByRole("heading", { name: "Request body" }).count()).toBe(1);
    expect(await page.locator("pre.body").filter({ hasText: "1042" }).count()).toBe(2);
    await browser.screenshot("dashboard-delivery");

    await page.getByRole("button", { name: "Redeliver" }).click();
    await page.getByText("Redelivery scheduled").waitFor();
    await eventually(async () => {
      await page.reload();
      return (await page.locator("li.attempt").count()) === 2 ? true : undefined;
    }, 20_000, "a second attempt on the delivery page");
    await stack.receiver.waitFor(2);
    await browser.screenshot("dashboard-redelivered");

    await page.getByRole("link", { name: "Orders receiver" }).click();
    await page.getByLabel("Event type").selectOption("build:complete");
    await page.getByRole("button", { name: "Load example" }).click();
    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByText(/Test event #\d+ sent/).waitFor();
    const [, , test] = await stack.receiver.waitFor(3);
    expect(test!.headers["hookline-event-type"] ?? test!.body).toContain("build:complete");

    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByText("Paused").first().waitFor();
    const row = await stack.database.store.db.selectFrom("hooks").select("is_active").where("id", "=", hookId).executeTakeFirstOrThrow();
    expect(row.is_active).toBe(false);
    await browser.screenshot("dashboard-paused");

    expect(browser.blocked).toEqual([]);
    expect(browser.errors).toEqual([]);
  });

  it("never shows a second account the first one's hook or delivery", { timeout: 120_000 }, async () => {
    const { page } = browser;
    const base = stack.server.url;
    const delivery = await stack.database.store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hookId).executeTakeFirstOrThrow();
    const other = await stack.server.newAccount("second account");

    await page.goto(`${base}/dashboard/hooks`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").fill(other.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("No hooks yet.").waitFor();
    expect((await page.goto(`${base}/dashboard/hooks/${hookId}`))!.status()).toBe(404);
    expect(await page.getByText(`No hook ${hookId} in this account.`).count()).toBe(1);
    expect((await page.goto(`${base}/dashboard/deliveries/${delivery.id}`))!.status()).toBe(404);
    await browser.screenshot("dashboard-other-account-404");
    expect(await page.content()).not.toContain(RECEIVER_SAYS);
    expect(browser.blocked).toEqual([]);
  });
});
