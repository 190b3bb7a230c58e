import { createClient } from "@hookline/sdk";
import { defineCommand } from "citty";
import type { Config } from "../config.js";
import { testEventExamples } from "../events/test-event-types.js";
import { builtInEventTypes, loadOpenApiDocument } from "../spec/openapi-document.js";
import { apiFailure, CliError } from "./cli-error.js";
import { serverUrl } from "./server-target.js";

/**
 * `hookline trigger <event-type>`: publishes the spec's example payload of a
 * built-in type through a running server's API, as `stripe trigger` and
 * Svix's "send example" do — a way to see a delivery without writing one.
 */
export function triggerCommand(config: () => Config) {
  // Hookline's own types (ping, hook.disabled, delivery.exhausted) are refused by publish: never offered.
  const examples = testEventExamples(builtInEventTypes(loadOpenApiDocument()));
  const names = [...examples.keys()];
  return defineCommand({
    meta: { name: "trigger", description: `Publish the spec's example event of a built-in type through a running server (HOOKLINE_API_KEY): ${names.join(", ")}` },
    args: {
      event_type: { type: "positional", description: "A built-in event type", required: true },
      subject: { type: "string", description: "The event's subject (hooks can select on it), e.g. alaudauser/docker_images_test" },
      "subject-type": { type: "string", description: "The event's subject type; default: the example's" },
      url: { type: "string", description: "The server's URL; default: HOOKLINE_PUBLIC_URL, the embedded server's, or http://HOST:PORT" },
    },
    async run({ args }) {
      const settings = config();
      const example = examples.get(args.event_type);
      if (!example) throw new CliError(`EVENT_TYPE must be one of: ${names.join(", ")} (got "${args.event_type}").`);
      if (!settings.apiKey) throw new CliError("HOOKLINE_API_KEY is required: set it to an API key of the account to publish as (`hookline keys create` makes one).");
      const data = { ...example, ...(args.subject ? { subject: args.subject } : {}) };
      const subjectType = args["subject-type"] ?? (typeof example.subject_type === "string" ? example.subject_type : undefined);
      const body = { type: args.event_type, data, ...(args.subject ? { subject: args.subject, ...(subjectType ? { subject_type: subjectType } : {}) } : {}) };
      const url = serverUrl(settings, args.url);
      const client = createClient({ baseUrl: url, apiKey: settings.apiKey, retry: false });
      const answer = await client.POST("/v1/events", { body }).catch((error: Error) => {
        throw new CliError(`Publishing failed: cannot reach ${url} (${error.message}): start the server, or pass --url.`);
      });
      if (answer.error !== undefined || !answer.data) throw apiFailure("Publishing", answer.response, answer.error);
      console.log(`Published ${args.event_type} as event ${answer.data.id} to ${answer.data.deliveries} hook(s) (through ${url}).`);
    },
  });
}
