import type { BuiltInEventType } from "../spec/openapi-document.js";
import { isReservedEventType } from "./reserved-types.js";

/**
 * The event types a person may send as a test event, each with the spec's
 * example `data` to start from: the built-in types that have an example and
 * that producers may publish. Hookline's own types (`ping`, `hook.disabled`,
 * `delivery.exhausted`, reserved-types.ts) are refused by publish, so no
 * menu, help text or CLI list may offer them: every list of test event types
 * (dashboard, portal, `hookline trigger`) comes from here.
 *
 * @example
 * const examples = testEventExamples(builtInEventTypes(loadOpenApiDocument()));
 * examples.get("build:complete"); // the spec's example data
 */
export function testEventExamples(eventTypes: BuiltInEventType[]): Map<string, Record<string, unknown>> {
  return new Map(eventTypes.flatMap((t) => (t.example && !isReservedEventType(t.name) ? [[t.name, t.example] as const] : [])));
}
