import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, openBrowser, type TestBrowser } from "../support/browser.js";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/**
 * Issue 21: the dashboard as a product. Each task done by clicking, as a
 * person would: the event log and its search, an event's page, editing and
 * deleting a hook, a test event with a payload of one's own, recover, API
 * keys, a hook's health, and the pages at 390 px wide.
 */
describe.runIf(hasChromium() || process.env.CI === "true")("the dashboard as a product, in Chromium", () => {
  let stack: DeliveryStack;
  let browser: TestBrowser;
  let failing = true;
  let orders: number;
  let flaky: number;

  beforeAll(async () => {
    stack = await startDeliveryStack(testBackends()[0]!, FAST_DELIVERY_ENV, (request, res) => {
      if (request.url.startsWith("/flaky") && failing) return void res.writeHead(500).end("down for now");
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    orders = (await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/orders`, events: ["*"], name: "Orders receiver" } })).body.id;
    flaky = (await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/flaky`, events: ["order.created"], name: "Flaky receiver", retries: 0 } })).body.id;
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${stack.server.url}/dashboard/sign-in`);
    await page.getByLabel("API key").fill(stack.account.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Hooks", level: 1 }).waitFor();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const deliveryOf = (hookId: number, eventId: number) =>
    stack.database.store.db.selectFrom("deliveries").selectAll().where("hook_id", "=", hookId).where("event_id", "=", eventId).executeTakeFirst();

  it("finds events by subject, webhook-id, id and status, and shows every delivery of one", { timeout: 180_000 }, async () => {
    const { page } = browser;
    const published = await stack.api.call("POST", "/v1/events", { body: { type: "order.created", subject: "order-42", data: { order: 42 } } });
    const eventId: number = published.body.id;
    const other = await stack.api.call("POST", "/v1/events", { body: { type: "invoice.paid", subject: "inv-7", data: { invoice: 7 } } });
    await eventually(async () => ((await deliveryOf(flaky, eventId))?.status === "failed" && (await deliveryOf(orders, other.body.id))?.status === "succeeded" ? true : undefined), 20_000, "deliveries finished");

    await page.getByRole("link", { name: "Events" }).click();
    await page.getByRole("heading", { name: "Events", level: 1 }).waitFor();
    // Also Hookline's own delivery.exhausted notice about the failed delivery.
    expect(await page.locator("#events tbody tr").count()).toBe(3);
    await page.getByLabel("Search").fill("order-42");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator("#events tbody tr").first().waitFor();
    expect(await page.locator("#events tbody tr").count()).toBe(1);
    expect(await page.locator("#events").innerText()).toContain("order.created");
    await browser.screenshot("product-event-log");

    // The webhook-id as the receiver logged it (the delivery's API answer, as the row stores none since 2026-12-06).
    const otherEvent = await stack.api.call("GET", `/v1/events/${other.body.id}`);
    const messageId: string = otherEvent.body.deliveries.find((d: { hook_id: number }) => d.hook_id === orders).message_id;
    expect(messageId).toMatch(new RegExp(`^msg_[0-9A-HJKMNP-TV-Z]{26}_${orders}$`));
    await page.getByLabel("Search").fill(messageId);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/q=msg_/);
    expect(await page.locator("#events tbody tr").count()).toBe(1);
    expect(await page.locator("#events").innerText()).toContain("invoice.paid");

    await page.getByRole("link", { name: "Clear" }).click();
    await page.getByLabel("Delivery status").selectOption("failed");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/status=failed/);
    expect(await page.locator("#events tbody tr").count()).toBe(1);
    await page.getByRole("link", { name: `#${eventId}` }).click();
    await page.getByRole("heading", { name: `Event #${eventId}` }).waitFor();
    const table = await page.locator("#deliveries").innerText();
    expect(table).toContain("Orders receiver");
    expect(table).toContain("Flaky receiver");
    expect(table).toMatch(/failed after 1 attempt/);
    expect(await page.locator("pre.event-data").innerText()).toBe('{\n  "order": 42\n}');
    expect(await page.getByRole("button", { name: "Copy event data" }).isVisible()).toBe(true);
    await browser.screenshot("product-event");
  });

  it("shows a hook's health, then recovers its failed deliveries once the receiver is back", { timeout: 180_000 }, async () => {
    const { page } = browser;
    await page.goto(`${stack.server.url}/dashboard/hooks/${flaky}`);
    expect(await page.locator("svg.health-chart rect.bad").count()).toBeGreaterThan(0);
    expect(await page.locator("#success-rate").innerText()).toMatch(/^0% \(0 of \d+ attempts\)$/);
    expect(await page.locator("#breaker").innerText()).toContain("closed");
    await browser.screenshot("product-hook-health");
    failing = false;
    await page.getByRole("button", { name: "Recover" }).click();
    await page.getByText(/Recover: 1 failed deliveries will be sent again/).waitFor();
    await eventually(async () => {
      await page.reload();
      return (await page.locator("#deliveries").innerText()).includes("succeeded") ? true : undefined;
    }, 20_000, "the recovered delivery succeeded");
    expect(await page.locator("#success-rate").innerText()).toMatch(/^50% \(1 of 2 attempts\)$/);
  });

  it("edits a hook (refusals named like the API's), sends a test event with a payload of its own, and deletes a hook", { timeout: 180_000 }, async () => {
    const { page } = browser;
    await page.goto(`${stack.server.url}/dashboard/hooks/${orders}`);
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByLabel("Retries").fill("99");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("body.retries").waitFor();
    await browser.screenshot("product-hook-edit-refused");
    await page.getByLabel("Retries").fill("3");
    await page.getByLabel("Rate limit").fill("5");
    await page.getByLabel("In-flight cap").fill("2");
    await page.getByLabel("Only subject types").fill("build_repo, order");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Changes saved.").waitFor();
    const row = await stack.database.store.db.selectFrom("hooks").selectAll().where("id", "=", orders).executeTakeFirstOrThrow();
    expect([row.retries, row.rate_limit, row.max_in_flight, row.filter]).toEqual([3, 5, 2, { for_all: ["build_repo", "order"] }]);
    expect(await page.getByText("5 per second").count()).toBe(1);

    await page.getByLabel("Event type").selectOption("build:complete");
    await page.getByRole("button", { name: "Load example" }).click();
    const example = await page.getByLabel(/Payload/).inputValue();
    expect(JSON.parse(example).subject_type).toBe("build_repo");
    await page.getByLabel(/Payload/).fill("{ not json");
    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByText("is not valid JSON").waitFor();
    await page.getByLabel(/Payload/).fill(example.replace('"latest"', '"custom-7f3"'));
    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByText(/Test event #\d+ sent/).waitFor();
    await eventually(async () => stack.receiver.requests.find((r) => r.url.startsWith("/orders") && r.body.includes("custom-7f3")), 20_000, "the custom test event delivered");

    await page.goto(`${stack.server.url}/dashboard/hooks/${flaky}/edit`);
    await page.getByLabel(/Delete Flaky receiver/).check();
    await page.getByRole("button", { name: "Delete hook" }).click();
    await page.getByRole("heading", { name: "Hooks", level: 1 }).waitFor();
    expect(await page.getByRole("link", { name: "Flaky receiver" }).count()).toBe(0);
    // The refused forms answer 4xx, which Chromium logs; no script error.
    expect(browser.errors.filter((e) => !e.includes("status of 4"))).toEqual([]);
  });

  it("creates an API key (shown once), rotates it and revokes it", { timeout: 180_000 }, async () => {
    const { page } = browser;
    const works = async (key: string) => (await fetch(`${stack.server.url}/v1/hooks`, { headers: { authorization: `Bearer ${key}` } })).status;
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Name").fill("ci key");
    await page.getByRole("button", { name: "Create key" }).click();
    const created = await page.locator("#new-key").innerText();
    expect(await works(created)).toBe(200);
    await browser.screenshot("product-key-created");
    await page.getByRole("link", { name: "Back to API keys" }).click();
    expect(await page.locator("#keys").innerText()).not.toContain(created);
    await page.getByRole("button", { name: "Rotate ci key" }).click();
    const rotated = await page.locator("#new-key").innerText();
    expect(await works(rotated)).toBe(200);
    expect(await works(created)).toBe(401);
    await page.getByRole("link", { name: "Back to API keys" }).click();
    await page.getByRole("button", { name: "Revoke ci key" }).click();
    await page.getByText(/revoked: it no longer authenticates/).waitFor();
    expect(await works(rotated)).toBe(401);
    await browser.screenshot("product-keys");
  });

  it("works on a 390 px wide screen: nothing wider than the screen", { timeout: 120_000 }, async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path] of [["hook", `/dashboard/hooks/${orders}`], ["events", "/dashboard/events"], ["hooks", "/dashboard/hooks"], ["keys", "/dashboard/keys"]] as const) {
      await page.goto(`${stack.server.url}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, name).toBeLessThanOrEqual(0);
      await browser.screenshot(`product-390-${name}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(browser.blocked).toEqual([]);
  });
});
