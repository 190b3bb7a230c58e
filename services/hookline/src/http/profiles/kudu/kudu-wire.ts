import type { HookRow } from "../../../store/schema.js";
import type { KuduHook, KuduHookDetails } from "./kudu-schemas.js";

/** A hook as Kudu shows it: its first event type is Kudu's single `event`. */
export function kuduHookToWire(row: HookRow): KuduHook {
  return { id: row.id, url: row.url, event: row.events[0] ?? "", insecure_ssl: row.insecure_ssl };
}

/** Kudu's single-hook view, with the outcome of the last delivery. */
export function kuduHookDetailsToWire(row: HookRow): KuduHookDetails {
  return {
    ...kuduHookToWire(row),
    last_datetime: row.last_datetime?.toISOString() ?? null,
    last_status: row.last_status,
    last_reason: row.last_reason,
    last_context: row.last_context,
  };
}
