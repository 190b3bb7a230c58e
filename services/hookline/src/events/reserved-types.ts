/**
 * Event types Hookline sends itself, which producers may not publish: a
 * receiver must be able to trust that a `ping` came from Hookline (hook
 * create/verify), and the operational events (`hook.disabled`,
 * `delivery.exhausted`, …) are Hookline's to announce. Reserved: the exact
 * type `ping`, and every type starting with `hook.`, `delivery.` or `hookline.`.
 */
export const RESERVED_EVENT_TYPES = ["ping"] as const;
export const RESERVED_EVENT_TYPE_PREFIXES = ["hook.", "delivery.", "hookline."] as const;

/** Whether producers are refused this event type (compared case-insensitively, as receivers may). */
export function isReservedEventType(type: string): boolean {
  const lower = type.toLowerCase();
  return (RESERVED_EVENT_TYPES as readonly string[]).includes(lower) || RESERVED_EVENT_TYPE_PREFIXES.some((prefix) => lower.startsWith(prefix));
}
