import { Agent, request } from "undici";
import type { HooklineProcess } from "./hookline-process.js";

const agent = new Agent({ connections: 128, keepAliveTimeout: 60_000 });

/** A response as the bench needs it: status and parsed JSON (or null). */
export type ApiResponse = { status: number; json: any };

/**
 * One JSON call to Hookline's API with a Bearer token.
 *
 * @example
 * const { status, json } = await callApi(hookline.url, "POST", "/v1/events", key, { type: "x", data: {} })
 */
export async function callApi(baseUrl: string, method: "GET" | "POST", path: string, token: string, body?: unknown): Promise<ApiResponse> {
  const res = await request(`${baseUrl}${path}`, {
    method,
    dispatcher: agent,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

/** Like `callApi`, but throws with Hookline's answer unless the status is `expected`. */
export async function expectApi(baseUrl: string, method: "GET" | "POST", path: string, token: string, expected: number, body?: unknown): Promise<any> {
  const res = await callApi(baseUrl, method, path, token, body);
  if (res.status !== expected) {
    throw new Error(`${method} ${path} answered ${res.status}, expected ${expected}: ${JSON.stringify(res.json).slice(0, 300)}`);
  }
  return res.json;
}

/**
 * Creates an account through the admin token and returns an API key for it.
 *
 * @example
 * const key = await createAccountKey(hookline, "bench-throughput")
 */
export async function createAccountKey(hookline: HooklineProcess, name: string): Promise<string> {
  const account = await expectApi(hookline.url, "POST", "/v1/accounts", hookline.adminToken, 201, { name });
  const key = await expectApi(hookline.url, "POST", `/v1/accounts/${account.id}/keys`, hookline.adminToken, 201, { name });
  if (typeof key?.key !== "string") throw new Error(`POST /v1/accounts/{id}/keys returned no key: ${JSON.stringify(key)}`);
  return key.key;
}

/**
 * Subscribes `url` to every event of the key's account; returns the hook id
 * and the secret to verify its deliveries with.
 *
 * @example
 * const hook = await createHook(hookline.url, key, `${receiver.url}/t`, newSecret())
 */
export async function createHook(baseUrl: string, key: string, url: string, secret: string): Promise<{ id: string; secret: string }> {
  const hook = await expectApi(baseUrl, "POST", "/v1/hooks", key, 201, { url, events: ["*"], secret });
  return { id: String(hook.id), secret: typeof hook.secret === "string" ? hook.secret : secret };
}
