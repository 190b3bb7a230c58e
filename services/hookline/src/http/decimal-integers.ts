import { z } from "@hono/zod-openapi";

/** Digits only, no sign, no leading zero (but "0"), no spaces: the one spelling of a non-negative integer. */
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** The largest id the API takes: PostgreSQL `integer` columns (hooks, keys). */
export const MAX_INT4 = 2_147_483_647;

/**
 * A whole number from a client's text (a path segment, a query parameter, a
 * form field): decimal digits only, within `[min, max]`. `z.coerce.number()`
 * and `Number()` read `0x10` as 16, `1e3` as 1000, ` 16`/`+16`/`016` as 16
 * and `""` as 0, so the same resource answered under many names, a
 * malformed id looked like a missing one (404), and a huge one could reach
 * the database (int4 overflow: 5xx). Anything else is a 400 naming the field.
 * The spec still says `type: integer` with the bounds (what it publishes is
 * the number, the spelling is the wire's).
 *
 * @example
 * z.object({ id: decimalInteger(1, MAX_INT4) })
 */
export function decimalInteger(min: number, max: number) {
  return z
    .string()
    .refine((text) => DECIMAL.test(text), { message: `must be a whole number written in decimal digits only (no sign, spaces, exponent, hex or leading zeros), from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: "integer", minimum: min, maximum: max });
}

/**
 * The same rule for text outside a schema (a CLI argument, a dashboard form
 * field): the number, or undefined when `text` is not one within bounds.
 */
export function parseDecimalInteger(text: string, min: number, max: number): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}
