import { ulid } from "ulid";
import { buildRequest } from "./request.js";
import type { DeliveryTransport } from "./transport.js";

/** A callback to ping: a saved hook, or one about to be saved (then `hookId` is the id it will get). */
export interface PingHookTarget {
  hookId: number | undefined;
  url: string;
  secret: string;
  /** Retired secrets still in their grace period, in clear: the ping is signed with each, as a delivery is. */
  previous_secrets?: readonly string[];
  insecure_ssl: boolean;
  http_verb?: "post" | "get";
  /** The hook's custom_data as JSON text (as stored), merged into the ping as into any delivery. */
  custom_data?: string | null;
}

export type PingResult = { ok: true } | { ok: false; reason: string };

export const PING_MESSAGE = "Hookline ping; answer 2xx to confirm this endpoint.";

/**
 * Sends a `ping` event to a callback right away — not through the queue, the
 * caller is waiting for the answer — signed like any delivery, with the same
 * transport (so the SSRF guard, timeout and TLS rules hold). `ok` when the
 * callback answered 2xx, else the reason (status, timeout, refused target…).
 *
 * @example
 * const result = await pingHook(transport, { hookId: 4, url, secret, insecure_ssl: false });
 * if (!result.ok) throw invalid(result.reason);
 */
export async function pingHook(transport: DeliveryTransport, target: PingHookTarget): Promise<PingResult> {
  const data = {
    ...(target.hookId !== undefined ? { hook_id: target.hookId } : {}),
    url: target.url,
    sent_at: new Date().toISOString(),
    message: PING_MESSAGE,
  };
  const request = buildRequest(
    {
      url: target.url,
      http_verb: target.http_verb ?? "post",
      secret: target.secret,
      previous_secrets: target.previous_secrets ?? [],
      custom_data: target.custom_data ?? null,
    },
    "ping",
    data,
    `msg_${ulid()}`,
    Math.floor(Date.now() / 1000),
  );
  const result = await transport.send(request, { insecureSsl: target.insecure_ssl });
  return result.ok ? { ok: true } : { ok: false, reason: result.error ?? "the callback did not answer 2xx" };
}
