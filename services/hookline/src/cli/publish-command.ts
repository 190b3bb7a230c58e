import { readFile } from "node:fs/promises";
import { createClient } from "@hookline/sdk";
import { defineCommand } from "citty";
import type { Config } from "../config.js";
import { apiFailure, CliError } from "./cli-error.js";
import { serverUrl } from "./server-target.js";

/**
 * `hookline publish <file>`: publishes the events of a JSON file (an array,
 * or `{"events": [...]}`, up to 1,000) through a running server's
 * `POST /v1/events/batch`, so they are checked, stored and answered exactly
 * as the API does; prints one JSON line per event (its id and deliveries, or
 * its problem) and exits 1 when any event was refused.
 */
export function publishCommand(config: () => Config) {
  return defineCommand({
    meta: { name: "publish", description: "Publish the events of a JSON file (up to 1,000) through a running server (HOOKLINE_API_KEY), one result line per event" },
    args: {
      file: { type: "positional", description: 'A JSON file: [{"type", "data", "subject_type"?, "subject"?, "idempotency_key"?}, …] or {"events": […]}', required: true },
      url: { type: "string", description: "The server's URL; default: HOOKLINE_PUBLIC_URL, the embedded server's, or http://HOST:PORT" },
    },
    async run({ args }) {
      const settings = config();
      if (!settings.apiKey) throw new CliError("HOOKLINE_API_KEY is required: set it to an API key of the account to publish as (`hookline keys create` makes one).");
      const text = await readFile(args.file, "utf8").catch((error: Error) => {
        throw new CliError(`FILE ${args.file} cannot be read: ${error.message}`);
      });
      // The file's text goes out as it is (only wrapped), so numbers and key order reach the receivers exactly.
      const trimmed = text.trim();
      if (!trimmed.startsWith("[") && !trimmed.startsWith("{")) throw new CliError(`FILE ${args.file} must hold a JSON array of events or {"events": […]}.`);
      const body = trimmed.startsWith("[") ? `{"events":${trimmed}}` : trimmed;
      const url = serverUrl(settings, args.url);
      const client = createClient({ baseUrl: url, apiKey: settings.apiKey, retry: false });
      const answer = await client
        .POST("/v1/events/batch", { body: body as never, bodySerializer: (text) => text as unknown as string })
        .catch((error: Error) => {
          throw new CliError(`Publishing failed: cannot reach ${url} (${error.message}): start the server, or pass --url.`);
        });
      if (answer.error !== undefined || !answer.data) throw apiFailure("Publishing", answer.response, answer.error);
      for (const result of answer.data.results) console.log(JSON.stringify(result));
      if (answer.data.results.some((result) => result.status !== 202)) process.exitCode = 1;
    },
  });
}
