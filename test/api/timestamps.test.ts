import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardClient } from "../support/dashboard-session.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * The kind: an instant the client sends that PostgreSQL cannot take (year 0:
 * PostgreSQL has no year 0, and JavaScript writes one as `0000-…`) answered
 * 500 from the database. Every `since`/`until` the API takes refuses it as
 * a 400 naming the field, and nothing else is refused with it.
 */
describe.each(testBackends())("timestamps a client sends ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let hookId: number;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    api = specClient(server.url, { authorization: `Bearer ${(await server.newAccount()).key}` });
    hookId = (await api.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/t", events: ["*"] } })).body.id;
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  // Year 0 in UTC, and year 10000 in UTC (four digits as written, but an offset west of UTC carries them past 9999).
  const YEAR_ZERO = ["0000-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:30:00.5-01:00"];

  it.each(YEAR_ZERO)("recover since %s: 400 naming body.since", async (since) => {
    const res = await api.call("POST", `/v1/hooks/${hookId}/recover`, { body: { since } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(["body.since"]);
  });

  it.each(YEAR_ZERO.flatMap((v) => [["since", v], ["until", v]]))("GET /v1/events?%s=%s: 400 naming the query field", async (name, value) => {
    const res = await api.call("GET", `/v1/events?${name}=${encodeURIComponent(value!)}`);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([`query.${name}`]);
  });

  it("the first instant of year 1, the last of 9999 and ordinary dates are taken", async () => {
    expect((await api.call("POST", `/v1/hooks/${hookId}/recover`, { body: { since: "0001-01-01T00:00:00Z" } })).status).toBe(202);
    expect((await api.call("POST", `/v1/hooks/${hookId}/recover`, { body: { since: "9999-12-31T23:59:59.999Z" } })).status).toBe(202);
    expect((await api.call("GET", "/v1/events?since=0001-01-01T00:00:00Z&until=2999-12-31T23:59:59Z")).status).toBe(200);
    expect((await api.call("GET", `/v1/events?until=${encodeURIComponent("9999-12-31T23:59:59+14:00")}`)).status).toBe(200);
  });

  it("the dashboard's event log takes the last day, 9999-12-31, as a filter, and refuses an instant past it in UTC with a 400 naming it", async () => {
    const { key } = await server.newAccount("dashboard");
    const s = await dashboardClient({ request: (url, init) => fetch(url, { ...init, redirect: "manual" }) }, server.url).session(key);
    for (const query of ["until=9999-12-31", "since=9999-12-31", "since=0001-01-01&until=9999-12-31"]) {
      expect((await s.get(`/dashboard/events?${query}`)).status, query).toBe(200);
    }
    for (const [name, value] of [["until", "9999-12-31T23:59:59-14:00"], ["since", "9999-12-31T23:30:00-01:00"]] as const) {
      const page = await s.get(`/dashboard/events?${name}=${encodeURIComponent(value)}`);
      expect(page.status, `${name}=${value}`).toBe(400);
      expect(await page.text()).toContain(`query.${name}`);
    }
  });
});
