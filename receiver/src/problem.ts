/** An HTTP answer in framework-neutral form; each middleware writes it out. */
export type ReceiverResponse = { status: number; headers: Record<string, string>; body: string };

const titles: Record<number, string> = {
  400: "Invalid webhook payload",
  401: "Invalid webhook signature",
  409: "Webhook already being handled",
  413: "Webhook payload too large",
  500: "Webhook receiver error",
};

/**
 * An RFC 9457 problem document. `code` is the machine-readable reason
 * (`timestamp_too_old`, `invalid_payload`, …), also in the `type` URI.
 */
export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): ReceiverResponse {
  const body = {
    type: `https://hookline.dev/problems/receiver/${code.replaceAll("_", "-")}`,
    title: titles[status] ?? "Webhook rejected",
    status,
    detail,
    code,
    ...extra,
  };
  return { status, headers: { "content-type": "application/problem+json" }, body: JSON.stringify(body) };
}

/** A JSON answer for handled (and duplicate) deliveries; Hookline logs the body. */
export function acknowledged(duplicate: boolean): ReceiverResponse {
  return {
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(duplicate ? { received: true, duplicate: true } : { received: true }),
  };
}
