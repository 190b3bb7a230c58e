import { expect } from "vitest";
import { responseProblems } from "./spec.js";

export interface CheckedResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  body?: unknown;
  /** A raw body sent as is (for malformed-input tests); `body` is JSON-encoded otherwise. */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Skip the spec check (for deliberately undocumented requests such as unknown routes). */
  unchecked?: boolean;
}

/**
 * fetch for tests: sends a request to Hookline and fails the test when the
 * answer is not what the hand-written spec documents for that operation.
 *
 * @example
 * const api = specClient(server.url, { authorization: `Bearer ${key}` });
 * const { status, body } = await api.call("POST", "/v1/hooks", { body: { url, events: ["*"] } });
 */
export function specClient(baseUrl: string, defaultHeaders: Record<string, string> = {}) {
  const calledOperations = new Set<string>();
  async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<CheckedResponse<T>> {
    const headers: Record<string, string> = { ...defaultHeaders, ...options.headers };
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(baseUrl + path, { method, headers, body });
    const text = await response.text();
    const contentType = response.headers.get("content-type");
    const parsed = text && contentType && /json/.test(contentType) ? JSON.parse(text) : text || undefined;
    if (!options.unchecked) {
      const pathname = new URL(baseUrl + path).pathname;
      expect(responseProblems(method, pathname, response.status, contentType, parsed), `${method} ${path}`).toEqual([]);
      calledOperations.add(`${method} ${pathname}`);
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }
  return { call, calledOperations };
}
