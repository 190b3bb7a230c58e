import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { testBackends, type TestDatabase } from "../../test/support/databases.js";
import { startTestServer, type TestServer } from "../../test/support/server.js";
import { HooklineApiError } from "./api-error.js";
import { createClient, type HooklineClient } from "./client.js";
import type { components } from "./generated/schema.js";
import { nextLink, UnreadableLinkHeaderError } from "./link-header.js";
import { paginate, type ListItem, type ListPath } from "./paginate.js";

// The expectTypeOf checks below bite under `pnpm typecheck` (tsc, which CI runs),
// not under `vitest run`, which only executes them: a wrong type passes here and fails there.

describe.each(testBackends())("paginate against a live server on $kind", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let apiKey: string;
  let hookline: HooklineClient;
  const created: number[] = [];
  const requested: string[] = [];

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    apiKey = (await server.newAccount()).key;
    // The real fetch, recording which pages were asked for.
    const fetch = (request: Request, init?: RequestInit) => (requested.push(request.url), globalThis.fetch(request, init));
    hookline = createClient({ baseUrl: server.url, apiKey, fetch });
    for (let i = 0; i < 7; i++) {
      const subject = i % 2 === 0 ? "even" : "odd";
      const { data } = await hookline.POST("/v1/hooks", { body: { url: `http://127.0.0.1:9/${i}`, events: ["*"], subject } });
      created.push(data!.id);
    }
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("walks every page through the Link header, in order, without repeats", async () => {
    requested.length = 0;
    const ids: number[] = [];
    for await (const hook of paginate(hookline, "/v1/hooks", { params: { query: { limit: 3 } } })) {
      expectTypeOf(hook).toEqualTypeOf<components["schemas"]["Hook"]>();
      ids.push(hook.id);
    }
    expect(ids).toEqual(created);
    expect(requested.length).toBeGreaterThanOrEqual(3);
    expect(new URL(requested[1]!).searchParams.get("after")).toBe(String(created[2]));
  });

  it("keeps the filters on later pages", async () => {
    const subjects: (string | null)[] = [];
    for await (const hook of paginate(hookline, "/v1/hooks", { params: { query: { subject: "even", limit: 2 } } })) subjects.push(hook.subject);
    expect(subjects).toEqual(["even", "even", "even", "even"]);
  });

  it("works without options, and stops early when the loop breaks", async () => {
    requested.length = 0;
    for await (const hook of paginate(hookline, "/v1/hooks")) {
      expect(hook.id).toBe(created[0]);
      break;
    }
    expect(requested).toHaveLength(1);
  });

  it("walks a path with path parameters (a hook's deliveries, newest first)", async () => {
    const { data: hook } = await hookline.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/deliveries", events: ["page:test"] } });
    for (let i = 0; i < 5; i++) await hookline.POST("/v1/events", { body: { type: "page:test", data: { i } } });
    requested.length = 0;
    const ids: number[] = [];
    for await (const delivery of paginate(hookline, "/v1/hooks/{id}/deliveries", { params: { path: { id: hook!.id }, query: { limit: 2 } } })) {
      expectTypeOf(delivery).toEqualTypeOf<components["schemas"]["Delivery"]>();
      ids.push(delivery.id);
    }
    expect(ids).toHaveLength(5);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(requested.length).toBeGreaterThanOrEqual(3);
    expect(requested.every((url) => new URL(url).pathname === `/v1/hooks/${hook!.id}/deliveries`)).toBe(true);
  });

  it("throws a HooklineApiError carrying the problem document", async () => {
    const stranger = createClient({ baseUrl: server.url, apiKey: "wrong" });
    const walk = async () => {
      for await (const _ of paginate(stranger, "/v1/hooks")) void _;
    };
    await expect(walk()).rejects.toBeInstanceOf(HooklineApiError);
    await expect(walk()).rejects.toMatchObject({ status: 401, problem: { status: 401 } });
  });
});

describe("paginate types", () => {
  it("accepts only list paths and types items by path", () => {
    expectTypeOf<"/v1/hooks">().toExtend<ListPath>();
    expectTypeOf<"/v1/hooks/{id}">().not.toExtend<ListPath>();
    expectTypeOf<ListItem<"/v1/hooks">>().toEqualTypeOf<components["schemas"]["Hook"]>();
  });
});

describe("nextLink", () => {
  it("finds rel=next among several links and rel types, quoted or not", () => {
    expect(nextLink('</v1/hooks?after=4&limit=50>; rel="next"')).toBe("/v1/hooks?after=4&limit=50");
    expect(nextLink('</a?p=1>; rel="prev", </a?p=3>; rel=next')).toBe("/a?p=3");
    expect(nextLink('<https://x/a?p=3>; title="x"; rel="last next"')).toBe("https://x/a?p=3");
    expect(nextLink('</a?p=1>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });

  it("skips links without rel", () => {
    expect(nextLink('</a?p=1>; title="x", </a?p=3>; rel=next')).toBe("/a?p=3");
  });

  it("throws an UnreadableLinkHeaderError naming the header and keeping the parser's error as cause", () => {
    const error = (() => {
      try {
        nextLink("<broken");
      } catch (e) {
        return e as UnreadableLinkHeaderError;
      }
    })();
    expect(error).toBeInstanceOf(UnreadableLinkHeaderError);
    expect(error?.name).toBe("UnreadableLinkHeaderError");
    expect(error?.header).toBe("<broken");
    expect(error?.message).toMatch(/^unreadable Link header "<broken": .+/);
    expect(error?.cause).toBeInstanceOf(Error);
  });
});

describe("paginate on an unreadable Link header", () => {
  it("throws a HooklineApiError whose about:blank problem says the page cannot tell whether more follow", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", link: "<broken" });
      res.end("[]");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const client = createClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: "k", retry: false });
      const walk = async () => {
        for await (const _ of paginate(client, "/v1/hooks")) void _;
      };
      await expect(walk()).rejects.toMatchObject({
        status: 200,
        problem: { type: "about:blank", title: "Unreadable Link header", status: 200, detail: expect.stringMatching(/^paginate\(\/v1\/hooks\) cannot tell whether a next page follows: unreadable Link header/) },
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
