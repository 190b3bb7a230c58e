import { benchHonoRoutes } from "../anchors/hono-routes.js";
import type { BenchConfig } from "../config.js";
import { createAccountKey, createHook } from "../hookline-client.js";
import { HooklineUnavailable, startHookline, type HooklineProcess } from "../hookline-process.js";
import { loadNote, loadTest } from "../load-test.js";
import { oneLine, progress, ratioRow, unavailableRow, type BenchRow } from "../report.js";
import { newSecret } from "../signed-request.js";

/**
 * The API scenario: the bare Hono routes (constant, one PK SELECT), then
 * Hookline's GET /v1/hooks/{id} and POST /v1/hooks with the same load, then
 * ratios. The API runs with role `api` so no worker shares its process.
 *
 * @example
 * const rows = await apiScenario(readConfig(process.env))
 */
export async function apiScenario(config: BenchConfig): Promise<BenchRow[]> {
  progress("api: bare Hono routes anchor");
  const anchor = await benchHonoRoutes({
    adminUrl: config.adminUrl,
    pgPool: config.pgPool,
    connections: config.connections,
    shortSeconds: config.apiShortSeconds,
    longSeconds: config.apiLongSeconds,
    warmupSeconds: config.apiWarmupSeconds,
  });
  const pk = anchor.rows.find((r) => r.name === "bare Hono PK SELECT (anchor)");
  let hookline: HooklineProcess;
  progress("api: starting Hookline (role api)");
  try {
    hookline = await startHookline(config.adminUrl, "api");
  } catch (error) {
    if (!(error instanceof HooklineUnavailable)) throw error;
    return [...anchor.rows, unavailableRow("api", "Hookline", error.message)];
  }
  try {
    const rows = await hooklineApiRows(hookline, config);
    const get = rows.find((r) => r.name === "Hookline GET /v1/hooks/{id}");
    const getCpu = rows.find((r) => r.name === "Hookline GET CPU per request");
    const pkCpu = anchor.rows.find((r) => r.name === "bare Hono PK SELECT CPU per request");
    const post = rows.find((r) => r.name === "Hookline POST /v1/hooks");
    return [
      ...anchor.rows,
      ...rows,
      ratioRow("api", "Hookline GET / bare PK SELECT", get, pk, "target ≥ 0.7"),
      // Inverted (anchor / Hookline) so that, like the rate ratio, higher is better.
      ratioRow("api", "CPU per request: bare PK SELECT / Hookline GET", pkCpu, getCpu, "steadier than the rates on a busy machine; ≥ 0.7 goes with the target"),
      ratioRow("api", "Hookline POST / bare PK SELECT", post, pk, "for information"),
    ];
  } catch (error) {
    return [...anchor.rows, unavailableRow("api", "Hookline (failed)", oneLine(error))];
  } finally {
    await hookline.stop();
  }
}

async function hooklineApiRows(hookline: HooklineProcess, config: BenchConfig): Promise<BenchRow[]> {
  const key = await createAccountKey(hookline, "bench-api");
  // The target never receives anything here; it only has to be a valid URL.
  const target = "http://127.0.0.1:9/bench";
  const hook = await createHook(hookline.url, key, target, newSecret());
  const auth = { authorization: `Bearer ${key}` };
  const c = `c=${config.connections}`;
  const serverPid = hookline.pid;
  const get = await loadTest({ url: `${hookline.url}/v1/hooks/${hook.id}`, seconds: config.apiLongSeconds, warmupSeconds: config.apiWarmupSeconds, connections: config.connections, headers: auth, serverPid });
  const post = await loadTest({
    url: `${hookline.url}/v1/hooks`,
    seconds: config.apiShortSeconds,
    connections: config.connections,
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ url: target, events: ["*"] }),
    serverPid,
  });
  // Single publishes, one event per request as producers publish (issue 20):
  // an account of their own with one hook, so each event writes one delivery
  // (no worker runs here). On the account above, every hook the POST run made
  // matched too: thousands of deliveries per event, and a figure of the fan-out.
  const publisherKey = await createAccountKey(hookline, "bench-api-publish");
  await createHook(hookline.url, publisherKey, target, newSecret());
  const publish = await loadTest({
    url: `${hookline.url}/v1/events`,
    seconds: config.apiShortSeconds,
    warmupSeconds: config.apiWarmupSeconds,
    connections: config.publishers,
    method: "POST",
    headers: { authorization: `Bearer ${publisherKey}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "bench.api", subject: "order-1", data: { order: 1, items: [{ sku: "a-1", qty: 2 }], note: "x".repeat(200) } }),
    serverPid,
  });
  return [
    { scenario: "api", name: "Hookline GET /v1/hooks/{id}", value: get.rps, unit: "req/s", note: loadNote(get, `${c}, ${config.apiLongSeconds}s after ${config.apiWarmupSeconds}s warm-up, auth included`) },
    { scenario: "api", name: "Hookline GET /v1/hooks/{id} p99", value: get.p99, unit: "ms" },
    { scenario: "api", name: "Hookline GET CPU per request", value: get.cpuUsPerRequest ?? null, unit: "µs", note: "server process only (not PostgreSQL)" },
    { scenario: "api", name: "Hookline POST /v1/hooks", value: post.rps, unit: "req/s", note: loadNote(post, `${c}, ${config.apiShortSeconds}s`) },
    { scenario: "api", name: "Hookline POST /v1/hooks p99", value: post.p99, unit: "ms" },
    { scenario: "api", name: "Hookline POST /v1/events (single publish)", value: publish.rps, unit: "req/s", note: loadNote(publish, `c=${config.publishers}, ${config.apiShortSeconds}s after ${config.apiWarmupSeconds}s warm-up, one delivery each, with the ≈${Math.round(post.rps * config.apiShortSeconds)} hooks of the POST run in another account`) },
    { scenario: "api", name: "Hookline publish CPU per event", value: publish.cpuUsPerRequest ?? null, unit: "µs", note: "server processes only (not PostgreSQL)" },
  ];
}
