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

/** Variants of a valid payload: each property removed, and each property given a wrong type or value. */
function mutations(example: Record<string, unknown>): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  for (const key of Object.keys(example)) {
    const { [key]: _dropped, ...without } = example;
    out.push([`without ${key}`, without]);
    out.push([`${key} as object`, { ...example, [key]: { nested: true } }]);
    out.push([`${key} as bogus string`, { ...example, [key]: "not-a-valid value" }]);
    out.push([`${key} as -1`, { ...example, [key]: -1 }]);
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
