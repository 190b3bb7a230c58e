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
