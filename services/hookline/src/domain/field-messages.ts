import type { ErrorObject } from "ajv";
import { z } from "zod";

/**
 * One vocabulary for what is wrong with a value, wherever it is checked —
 * request fields (zod, via @hono/zod-openapi), event data (ajv, against the
 * spec's schemas) and settings (config.ts): "is required", "must be …",
 * "is not allowed". Messages name no field; the caller puts the field or
 * setting in front (`body.url`, `PORT`).
 */
export function installFieldMessages(): void {
  z.config({ customError: zodIssueMessage });
}

type ZodIssue = Parameters<NonNullable<ReturnType<typeof z.config>["customError"]>>[0];

function zodIssueMessage(issue: ZodIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      // `expected nonoptional, received undefined` and its kin: the value is missing.
      if (issue.input === undefined) return "is required";
      return `must be ${article(issue.expected === "nonoptional" ? "value" : String(issue.expected))}`;
    case "too_small":
      if (issue.origin === "string") return Number(issue.minimum) === 1 ? "must not be empty" : `must be at least ${issue.minimum} characters`;
      if (issue.origin === "array" || issue.origin === "set") return Number(issue.minimum) === 1 ? "must not be empty" : `must have at least ${issue.minimum} items`;
      return `must be ${issue.inclusive ? "at least" : "greater than"} ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      if (issue.origin === "array" || issue.origin === "set") return `must have at most ${issue.maximum} items`;
      return `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}`;
    case "invalid_value":
      return `must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      return `must be ${article(issue.format === "regex" ? "value of the documented format" : issue.format === "url" ? "URL" : issue.format)}`;
    case "unrecognized_keys":
      return `${issue.keys.map((k) => `"${k}"`).join(", ")} ${issue.keys.length === 1 ? "is" : "are"} not allowed`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
}

/** An ajv error as a field error under `base` (e.g. `body.data`), in the same vocabulary. */
export function ajvFieldError(base: string, error: ErrorObject): { path: string; message: string } {
  const path = [base, ...error.instancePath.split("/").filter(Boolean)];
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "required") return { path: [...path, String(params.missingProperty)].join("."), message: "is required" };
  if (error.keyword === "additionalProperties") return { path: [...path, String(params.additionalProperty)].join("."), message: "is not allowed" };
  if (error.keyword === "type") return { path: path.join("."), message: `must be ${article(String(params.type))}` };
  if (error.keyword === "enum") return { path: path.join("."), message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
  // ajv's other messages already read "must …" ("must match format \"uri\"", "must NOT have more than 3 items").
  return { path: path.join("."), message: error.message ?? "is invalid" };
}

function article(noun: string): string {
  return /^[aeiou]/i.test(noun) && !/^u[rs]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}
