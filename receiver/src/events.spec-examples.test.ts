import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { WebhookPayloadError } from "./errors.js";
import { eventSchemas, parse } from "./events.js";

/*
 * The receiver ≡ the spec: every example in openapi/webhooks/*.yaml parses,
 * and payloads the spec's JSON Schema rejects, `parse` rejects too.
 */

const webhooksDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../openapi/webhooks");
// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

/** Loads a YAML file and inlines every `$ref` (relative file plus optional JSON pointer). */
function loadResolved(file: string, pointer = ""): unknown {
  let node: unknown = parseYaml(readFileSync(file, "utf8"));
  for (const key of pointer.split("/").filter(Boolean)) node = (node as Record<string, unknown>)[key];
  return inline(node, file);
}

function inline(node: unknown, file: string): unknown {
  if (Array.isArray(node)) return node.map((item) => inline(item, file));
  if (typeof node !== "object" || node === null) return node;
  const { $ref, ...rest } = node as Record<string, unknown>;
  if (typeof $ref === "string") {
    const [path = "", pointer = ""] = $ref.split("#");
    return loadResolved(path ? join(dirname(file), path) : file, pointer);
  }
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, inline(v, file)]));
}

type Operation = {
  parameters: { name: string; schema: { const?: string } }[];
  requestBody: { content: { "application/json": { schema: object; examples: Record<string, { value: Record<string, unknown> }> } } };
};

const webhooks = readdirSync(webhooksDir)
  .filter((f) => f.endsWith(".yaml"))
  .map((file) => {
    const post = (loadResolved(join(webhooksDir, file)) as { post: Operation }).post;
    const type = post.parameters.find((p) => p.name === "hookline-event-type")?.schema.const;
    const { schema, examples } = post.requestBody.content["application/json"];
    return { file, type: type as string, schema, examples: Object.entries(examples) };
  });

const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);

function parses(type: string, payload: unknown): boolean {
  try {
    parse(type, payload);
    return true;
  } catch (error) {
    if (!(error instanceof WebhookPayloadError)) throw error;
    return false;
  }
}

// Spellings where validators' `format` checks disagree; spec and parse must still agree.
const dateTimeVariants = [
  "2013-06-06t01:24:16z",
  "2013-06-06 01:24:16Z",
  "2013-06-06T01:24:16+0100",
  "2013-06-06T01:24:16+01:00",
  "2013-06-06T01:24:16",
  "2016-12-31T23:59:60Z",
  "2013-02-30T00:00:00Z",
  "2024-02-29T23:59:59.123456789Z",
];
const urlVariants = [
  "http://",
  "mailto:a@b.example",
  "ftp://a.example/x",
  "https://a.example/ä",
  "https://a.example/%zz",
  "https://a.example/x y",
  "https://[::1]:8080/p?q=1#f",
];

/** Variants of a valid payload: each property removed, given a wrong type or value, or a tricky spelling. */
function mutations(example: Record<string, unknown>): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  for (const [key, value] of Object.entries(example)) {
    const { [key]: _dropped, ...without } = example;
    out.push([`without ${key}`, without]);
    const variants: unknown[] = [{ nested: true }, "not-a-valid value", -1, 1.5, null, ""];
    if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) variants.push(...dateTimeVariants);
    if (typeof value === "string" && /^https?:/.test(value)) variants.push(...urlVariants);
    for (const variant of variants) out.push([`${key} = ${JSON.stringify(variant)}`, { ...example, [key]: variant }]);
  }
  return out;
}

it("covers every built-in event type, and only those", () => {
  expect(webhooks.map((w) => w.type).sort()).toEqual(Object.keys(eventSchemas).sort());
});

describe.each(webhooks)("$file ($type)", ({ type, schema, examples }) => {
  const validate = ajv.compile(schema);

  it.each(examples)("example %s is valid JSON Schema and parses", (_name, { value }) => {
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    expect(parse(type, JSON.stringify(value)).data).toMatchObject(value);
  });

  it("mutated examples: parse rejects whatever the spec rejects (and accepts what it accepts)", () => {
    const value = examples[0]![1].value;
    let rejectedBySpec = 0;
    for (const [label, mutated] of mutations(value)) {
      const specAccepts = validate(mutated);
      if (!specAccepts) rejectedBySpec++;
      expect(parses(type, mutated), `${label}: spec ${specAccepts ? "accepts" : "rejects"}`).toBe(specAccepts);
    }
    expect(rejectedBySpec).toBeGreaterThan(5);
  });
});
