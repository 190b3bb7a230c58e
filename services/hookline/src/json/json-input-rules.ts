import type { FieldError } from "../domain/errors.js";

/**
 * The deepest nesting of objects and arrays any JSON input may have, counting
 * the body itself as level 1 (so a publish body's `data` has 63 levels left).
 * Deeper input is refused with a 400 before anything parses it recursively:
 * validators, `JSON.stringify` and receivers' parsers all recurse, and ~10,000
 * levels overflow their stacks. The spec and README state the same number.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Why PostgreSQL cannot store this string, or undefined when it can.
 * `text`, `json` and `jsonb` reject U+0000 (SQLSTATE 22P05) and text that is
 * not well-formed UTF-16, i.e. an unpaired surrogate (it has no UTF-8 form).
 */
export function unstorableText(value: string): string | undefined {
  if (value.includes("\u0000")) return "must not contain U+0000 (NUL)";
  if (!isWellFormed(value)) return "must not contain an unpaired surrogate (not valid Unicode)";
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isWellFormed(value: string): boolean {
  // String.prototype.isWellFormed is Node 20+, but not in the ES2022 lib types.
  const native = (value as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(value) : !LONE_SURROGATE.test(value);
}

/**
 * The first rule a parsed JSON value breaks, named by its path (`body.data.a.0`),
 * or undefined: nesting deeper than `MAX_JSON_DEPTH`, or a string or key that
 * PostgreSQL cannot store. Walks with an explicit stack, so it cannot overflow
 * however deep the value is (V8's `JSON.parse` is iterative too).
 *
 * @example
 * findJsonInputProblem(JSON.parse('{"s":"a\\u0000b"}'), "body") // { path: "body.s", message: "must not contain U+0000 (NUL)" }
 */
export function findJsonInputProblem(value: unknown, rootPath: string): FieldError | undefined {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: rootPath, depth: 1 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === "string") {
      const why = unstorableText(item.value);
      if (why) return { path: item.path, message: why };
      continue;
    }
    if (item.value === null || typeof item.value !== "object") continue;
    if (item.depth > MAX_JSON_DEPTH) {
      return { path: item.path, message: `is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` };
    }
    const entries = Array.isArray(item.value) ? item.value.map((v, i) => [String(i), v] as const) : Object.entries(item.value);
    // Reversed, so the first bad value in document order is the one reported.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const path = `${item.path}.${key}`;
      const keyWhy = unstorableText(key);
      if (keyWhy) return { path, message: `has a key that ${keyWhy}` };
      stack.push({ value: child, path, depth: item.depth + 1 });
    }
  }
  return undefined;
}
