import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { testBackends, type TestDatabase } from "../../test/support/databases.js";
import { startTestServer, type TestServer } from "../../test/support/server.js";
import { createClient, type HooklineClient } from "./client.js";

const sdkDir = fileURLToPath(new URL("..", import.meta.url));
const RECEIVER = "http://127.0.0.1:9/orders";

/**
 * The README's ```ts blocks that name an example file (`// examples/…`), and
 * the example files they must show verbatim. The install section's programs
 * (`// sdk.ts`, `// sdk.mjs`, …) run from the packed tarball in
 * test/packages/pack-install.test.ts instead.
 */
async function readmeAndExamples() {
  const readme = await readFile(join(sdkDir, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((block) => block.startsWith("// examples/"));
  const names = (await readdir(join(sdkDir, "examples"))).filter((n) => n.endsWith(".ts")).sort();
  const files = await Promise.all(names.map((n) => readFile(join(sdkDir, "examples", n), "utf8")));
  return { blocks: blocks.sort(), files: files.sort() };
}

describe("sdk/README.md", () => {
  it("shows every file in sdk/examples verbatim, and no other example", async () => {
    const { blocks, files } = await readmeAndExamples();
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(blocks, "README ```ts blocks differ from sdk/examples/*.ts: paste the files into the README unchanged").toEqual(files);
  });
});

describe.each(testBackends())("README examples against a live server on $kind", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let check: HooklineClient;
  let examples: {
    createHook: typeof import("../examples/create-hook.js");
    allHooks: typeof import("../examples/all-hooks.js");
    publishEvent: typeof import("../examples/publish-event.js");
    readDeliveries: typeof import("../examples/read-deliveries.js");
  };

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    const { key } = await server.newAccount("readme");
    // The examples read their settings from the environment, as a user's program would.
    process.env.HOOKLINE_URL = server.url;
    process.env.HOOKLINE_API_KEY = key;
    vi.resetModules(); // examples/client.ts reads the environment once per import: one per backend
    examples = {
      createHook: await import("../examples/create-hook.js"),
      allHooks: await import("../examples/all-hooks.js"),
      publishEvent: await import("../examples/publish-event.js"),
      readDeliveries: await import("../examples/read-deliveries.js"),
    };
    check = createClient({ baseUrl: server.url, apiKey: key });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("create a hook", async () => {
    const { id, secret } = await examples.createHook.subscribeToOrders(RECEIVER);
    expect(secret).toMatch(/^whsec_/);
    const { data } = await check.GET("/v1/hooks/{id}", { params: { path: { id } } });
    expect(data).toMatchObject({ url: RECEIVER, events: ["order:*"], name: "orders" });
  });

  it("create a hook: a refused URL becomes an Error naming the problem", async () => {
    await expect(examples.createHook.subscribeToOrders("not a url")).rejects.toThrow(/could not create the hook: .+/);
  });

  it("iterate over all hooks (more than one page of 100)", async () => {
    const before = await examples.allHooks.allHookUrls();
    for (let i = 0; i < 101; i++) {
      await check.POST("/v1/hooks", { body: { url: `${RECEIVER}/${i}`, events: ["*"] } });
    }
    const urls = await examples.allHooks.allHookUrls();
    expect(urls).toHaveLength(before.length + 101);
    expect(new Set(urls).size).toBe(urls.length - before.length + new Set(before).size);
    expect(urls.slice(-1)).toEqual([`${RECEIVER}/100`]);
  });

  it("publish an event, then read the hook's deliveries", async () => {
    const { id } = await examples.createHook.subscribeToOrders(`${RECEIVER}/events`);
    const published = await examples.publishEvent.publishOrderCreated("o-1");
    expect(published.deliveries).toBeGreaterThanOrEqual(1);
    const again = await examples.publishEvent.publishOrderCreated("o-1");
    expect(again.eventId).toBe(published.eventId); // the Idempotency-Key made the repeat a no-op
    const deliveries = await examples.readDeliveries.latestDeliveries(id);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ status: expect.stringMatching(/^(pending|succeeded|failed|cancelled)$/) });
    const batch = await examples.publishEvent.publishOrdersCreated(["o-2", "o-3"]);
    const batchAgain = await examples.publishEvent.publishOrdersCreated(["o-2", "o-3"]);
    expect(batch.map((r) => "eventId" in r)).toEqual([true, true]);
    expect(batchAgain).toEqual(batch); // each event's idempotency_key made the repeat a no-op
    expect(await examples.readDeliveries.latestDeliveries(id)).toHaveLength(3);
  });
});
