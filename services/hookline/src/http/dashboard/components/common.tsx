/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { prettyJson } from "../../../json/pretty-json.js";
import type { DeliveryWithType } from "../../../store/deliveries.js";
import type { HookRow } from "../../../store/schema.js";
import { deliveryToWire } from "../../deliveries/delivery-wire.js";
import { DASHBOARD_PATH } from "../session.js";

/**
 * How long from `now` to `at`, in words a person reads at a glance:
 * "just now", "in 5 min", "3 h ago", "2 d ago".
 */
export function relativeTime(at: Date, now = new Date()): string {
  const seconds = Math.round((at.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return "just now";
  const [n, unit] =
    abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "min"] : abs < 86_400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86_400), "d"];
  return seconds > 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

/** A timestamp as relative words, the exact UTC time on hover (`title`) and machine-readable in `datetime`. */
export function Time(props: { at: Date | null | undefined; now?: Date }) {
  if (!props.at) return <span>—</span>;
  const iso = props.at.toISOString();
  return <time datetime={iso} title={`${iso.slice(0, 19).replace("T", " ")} UTC`}>{relativeTime(props.at, props.now)}</time>;
}

/** How a hook is called everywhere: its name, or "Hook <id>" when it has none. */
export function hookLabel(hook: Pick<HookRow, "id" | "name">): string {
  return hook.name ?? `Hook ${hook.id}`;
}

/** A link to a hook's page, named as the hook list names it; a deleted hook is said to be. */
export function HookLink(props: { hookId: number; hook: Pick<HookRow, "id" | "name"> | undefined; base?: string }) {
  if (!props.hook) return <span>{`Hook ${props.hookId} (deleted)`}</span>;
  return <a href={`${props.base ?? DASHBOARD_PATH}/hooks/${props.hookId}`}>{hookLabel(props.hook)}</a>;
}

/**
 * A delivery's status as the API reports it (delivery-wire.ts): `in flight`
 * while a worker is making the attempt — the row's `next_attempt_at` is then
 * the lease's end, not when anything is due, so it is never shown as such.
 */
export function DeliveryStatus(props: { delivery: DeliveryWithType }) {
  const status = deliveryToWire(props.delivery).status;
  return <span class={`badge ${status}`}>{status.replace("_", " ")}</span>;
}

/**
 * Where a delivery stands in its retry budget: "attempt 2 of 6, next in 5 min",
 * "attempt 3 of 6 in flight", "succeeded on attempt 1", "failed after 6 attempts".
 * The budget is the hook's `retries` + 1 counted from `retry_base` (a redeliver
 * or recover starts a fresh one), as delivery/outcome.ts counts it.
 */
export function attemptLine(delivery: DeliveryWithType, retries: number | undefined, now = new Date()): string {
  const wire = deliveryToWire(delivery, now);
  const made = delivery.attempts - delivery.retry_base;
  const of = retries === undefined ? "" : ` of ${retries + 1}`;
  switch (wire.status) {
    case "succeeded":
      return `succeeded on attempt ${delivery.attempts}`;
    case "failed":
      return `failed after ${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}`;
    case "cancelled":
      return `cancelled after ${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}`;
    case "in_flight":
      return `attempt ${made + 1}${of} in flight now`;
    default: {
      const due = delivery.next_attempt_at <= now ? "due now" : `next ${relativeTime(delivery.next_attempt_at, now)}`;
      return made === 0 ? `attempt 1${of}, ${due}` : `attempt ${made + 1}${of}, ${due}`;
    }
  }
}

/**
 * A stored JSON text pretty-printed (tokens as written, prettyJson) with a
 * Copy button that dashboard.js enables; without script the text is still
 * selectable. Never `JSON.stringify` of a stored text: that shows it quoted.
 */
export function JsonBlock(props: { text: string; label: string; class?: string }) {
  return (
    <div class="copyable">
      <pre class={`body ${props.class ?? ""}`.trim()}><code>{prettyJson(props.text)}</code></pre>
      <button type="button" class="copy" hidden data-copy="" aria-label={`Copy ${props.label.toLowerCase()}`}>Copy</button>
    </div>
  );
}
