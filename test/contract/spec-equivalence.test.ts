import { createApp, createLogger, generatedOpenApiDocument, loadConfig, loadOpenApiDocument } from "@hookline/server";
import { describe, expect, it } from "vitest";
import { differences, normalizeOperations } from "./openapi-normalize.js";

// The server's route definitions (zod, via @hono/zod-openapi) and the
// hand-written spec must describe the same API. The app is built without a
// database: generating the document touches none.
const app = createApp({ store: {} as never, config: loadConfig({}), logger: createLogger("silent") });
const server = normalizeOperations(generatedOpenApiDocument(app));
const spec = normalizeOperations(loadOpenApiDocument());

describe("the server's routes ≡ the hand-written spec", () => {
  it("have the same operations", () => {
    const onlyInSpec = Object.keys(spec).filter((op) => !(op in server));
    const onlyInServer = Object.keys(server).filter((op) => !(op in spec));
    expect({ onlyInSpec, onlyInServer }).toEqual({ onlyInSpec: [], onlyInServer: [] });
  });

  it.each(Object.keys(spec).filter((op) => op in server))("%s: parameters, body, responses and schemas agree", (op) => {
    expect(differences(spec[op], server[op]), `${op} differs (spec vs server route definition)`).toEqual([]);
  });
});

// Documentation the normalized comparison leaves out, which readers of either document see: each operation's
// id (the SDK's method names come from the spec's), summary and tags, and the names of the schemas.
describe("the server's routes document what the hand-written spec does", () => {
  const generated = generatedOpenApiDocument(app) as OpenApiLike;
  const written = loadOpenApiDocument() as OpenApiLike;

  it.each(Object.keys(spec).filter((op) => op in server))("%s: operationId, summary and tags", (op) => {
    const [method, path] = op.split(" ") as [string, string];
    const pick = (document: OpenApiLike) => {
      const operation = document.paths[path]![method.toLowerCase()]!;
      return { operationId: operation.operationId, summary: operation.summary, tags: operation.tags };
    };
    expect(pick(generated)).toEqual(pick(written));
  });

  it.each(Object.keys(spec).filter((op) => op in server))("%s: the schemas of its JSON body and success answers, by name", (op) => {
    const [method, path] = op.split(" ") as [string, string];
    const named = (document: OpenApiLike) => {
      const operation = document.paths[path]![method.toLowerCase()]!;
      const refOf = (content: OpenApiContent | undefined) => content?.["application/json"]?.schema?.$ref;
      const successes = Object.entries(operation.responses ?? {}).filter(([status]) => status.startsWith("2"));
      return {
        body: refOf(operation.requestBody?.content),
        ...Object.fromEntries(successes.map(([status, answer]) => [status, refOf(answer.content)])),
      };
    };
    expect(named(generated)).toEqual(named(written));
  });

  it.each(Object.keys(spec).filter((op) => op in server))("%s: what each success answer is, in words", (op) => {
    const [method, path] = op.split(" ") as [string, string];
    const described = (document: OpenApiLike) => {
      const operation = document.paths[path]![method.toLowerCase()]!;
      return Object.fromEntries(Object.entries(operation.responses ?? {}).filter(([status]) => status.startsWith("2")).map(([status, answer]) => [status, answer.description]));
    };
    expect(described(generated)).toEqual(described(written));
  });

  it("name each schema they share as the spec does", () => {
    const unnamed = Object.keys(generated.components?.schemas ?? {}).filter((name) => !(name in (written.components?.schemas ?? {})));
    expect(unnamed).toEqual([]);
  });
});

type OpenApiContent = Record<string, { schema?: { $ref?: string } }>;
type OpenApiLike = {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        summary?: string;
        tags?: string[];
        requestBody?: { content?: OpenApiContent };
        responses?: Record<string, { description?: string; content?: OpenApiContent }>;
      }
    >
  >;
  components?: { schemas?: Record<string, unknown> };
};
