#!/usr/bin/env node
// Writes `x-codeSamples` (the @hookline/sdk call and the curl command) at the
// end of every operation in openapi/paths/*.yaml, from the bundled spec's
// parameters, examples and security. Run after `pnpm spec:bundle`, then
// bundle again:
//   node openapi/scripts/code-samples.mjs && npx --yes pnpm@10.34.9 generate
// Samples are plain text blocks appended to each operation, so other edits to
// an operation (responses, parameters) merge around them. Re-running replaces
// the blocks it wrote; an operation's block can also be edited by hand.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const spec = JSON.parse(readFileSync(`${root}/generated/openapi.json`, "utf8"));
const BASE_URL = "http://127.0.0.1:8080";
const METHODS = ["get", "put", "post", "patch", "delete"];

const resolve = (node) => (node?.$ref ? node.$ref.slice(2).split("/").reduce((o, k) => o[k], spec) : node);

/** Path → file, read from openapi.yaml's `$ref: ./paths/<file>` lines. */
const files = new Map();
for (const m of readFileSync(`${root}/openapi.yaml`, "utf8").matchAll(/^ {2}(\/\S*):\s*\n\s+\$ref: \.\/paths\/(\S+)/gm)) files.set(m[1], m[2]);

function credentials(security) {
  const schemes = (security ?? spec.security ?? []).flatMap((s) => Object.keys(s));
  if (schemes.includes("adminToken")) return { env: "HOOKLINE_ADMIN_TOKEN", header: "Authorization: Bearer $HOOKLINE_ADMIN_TOKEN" };
  if (schemes.includes("bearerAuth")) return { env: "HOOKLINE_API_KEY", header: "Authorization: Bearer $HOOKLINE_API_KEY" };
  if (schemes.includes("authToken")) return { env: "HOOKLINE_API_KEY", header: "X-Auth-Token: $HOOKLINE_API_KEY" };
  return undefined;
}

function exampleOf(param) {
  return param.example ?? param.schema?.example ?? Object.values(param.examples ?? {})[0]?.value ?? param.schema?.default ?? 1;
}

function samples(path, method, pathItem, op) {
  const params = [...(pathItem.parameters ?? []), ...(op.parameters ?? [])].map(resolve);
  const pathParams = Object.fromEntries(params.filter((p) => p.in === "path").map((p) => [p.name, exampleOf(p)]));
  const query = Object.fromEntries(params.filter((p) => p.in === "query" && p.required).map((p) => [p.name, exampleOf(p)]));
  const headers = Object.fromEntries(params.filter((p) => p.in === "header" && p.required).map((p) => [p.name, exampleOf(p)]));
  const media = resolve(op.requestBody)?.content?.["application/json"];
  const body = media ? (media.example ?? Object.values(media.examples ?? {})[0]?.value ?? resolve(media.schema)?.example ?? {}) : undefined;
  const auth = credentials(op.security);

  const url = BASE_URL + path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(String(pathParams[name])))
    + (Object.keys(query).length ? `?${new URLSearchParams(query)}` : "");
  const curl = [method === "get" ? `curl "${url}"` : `curl -X ${method.toUpperCase()} "${url}"`];
  if (auth) curl.push(`  -H "${auth.header}"`);
  for (const [k, v] of Object.entries(headers)) curl.push(`  -H "${k}: ${v}"`);
  if (body !== undefined) curl.push(`  -H "Content-Type: application/json"`, `  -d '${JSON.stringify(body).replaceAll("'", "'\\''")}'`);

  const init = [];
  const p = {};
  if (Object.keys(pathParams).length) p.path = pathParams;
  if (Object.keys(query).length) p.query = query;
  if (Object.keys(headers).length) p.header = headers;
  if (Object.keys(p).length) init.push(`  params: ${literal(p, 2)},`);
  if (body !== undefined) init.push(`  body: ${literal(body, 2)},`);
  const sdk = [
    `import { createClient } from "@hookline/sdk";`,
    ``,
    `const hookline = createClient({ baseUrl: "${BASE_URL}", apiKey: process.env.${auth?.env ?? "HOOKLINE_API_KEY"}! });`,
    `const { data, error } = await hookline.${method.toUpperCase()}("${path}"${init.length ? `, {\n${init.join("\n")}\n}` : ""});`,
  ];
  return [
    `  x-codeSamples:`,
    `    - lang: TypeScript`,
    `      label: "@hookline/sdk"`,
    `      source: |`,
    ...sdk.join("\n").split("\n").map((l) => (l ? `        ${l}` : "")),
    `    - lang: Shell`,
    `      label: curl`,
    `      source: |`,
    ...curl.join(" \\\n").split("\n").map((l) => `        ${l}`),
  ];
}

/** A JS object literal with unquoted identifier keys: on one line when short, else indented to sit at `indent`. */
function literal(value, indent) {
  const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
  const inline = (v) =>
    Array.isArray(v) ? `[${v.map(inline).join(", ")}]`
    : v && typeof v === "object" ? (Object.keys(v).length ? `{ ${Object.entries(v).map(([k, x]) => `${key(k)}: ${inline(x)}`).join(", ")} }` : "{}")
    : JSON.stringify(v);
  const short = inline(value);
  if (short.length + indent <= 90 || !value || typeof value !== "object") return short;
  const pad = " ".repeat(indent + 2);
  const items = Array.isArray(value)
    ? value.map((x) => `${pad}${literal(x, indent + 2)}`)
    : Object.entries(value).map(([k, x]) => `${pad}${key(k)}: ${literal(x, indent + 2)}`);
  return `${Array.isArray(value) ? "[" : "{"}\n${items.join(",\n")},\n${" ".repeat(indent)}${Array.isArray(value) ? "]" : "}"}`;
}

let written = 0;
for (const [path, file] of files) {
  const pathItem = spec.paths[path];
  const filePath = `${root}/paths/${file}`;
  const lines = readFileSync(filePath, "utf8").replace(/\n+$/, "").split("\n");
  const out = [];
  for (let i = 0; i < lines.length; ) {
    const method = /^(\w+):\s*$/.exec(lines[i])?.[1];
    let end = i + 1;
    while (end < lines.length && !/^\S/.test(lines[end])) end++;
    let block = lines.slice(i, end);
    if (method && METHODS.includes(method) && pathItem[method]) {
      const own = block.findIndex((l) => l === "  x-codeSamples:");
      if (own >= 0) block = block.slice(0, own);
      while (block.length && block[block.length - 1].trim() === "") block.pop();
      block.push(...samples(path, method, pathItem, pathItem[method]));
      written++;
    }
    out.push(...block);
    i = end;
  }
  writeFileSync(filePath, `${out.join("\n")}\n`);
}
console.log(`x-codeSamples written for ${written} operations`);
