import { setTimeout as sleep } from "node:timers/promises";
import { createClient, type HooklineClient } from "@hookline/sdk";
import { defineCommand } from "citty";
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { Config } from "../config.js";
import type { ListenDeliveryMessage } from "../delivery/listen-sessions.js";
import { logPrefix } from "../delivery/log-prefix.js";
import { createDeliveryTransport, type DeliveryTransport } from "../delivery/transport.js";
import { storableText } from "../store/storable-text.js";
import { apiFailure, CliError } from "./cli-error.js";
import { serverUrl } from "./server-target.js";

/** How long the local app has to answer one forwarded delivery. */
const FORWARD_TIMEOUT_MS = 10_000;
/** How many response headers a report may carry (ListenResult's `headers.maxProperties`). */
const MAX_REPORTED_HEADERS = 200;
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/**
 * `hookline listen --forward-to <url>` (as `stripe listen`, `svix listen`):
 * opens a listen session, receives its deliveries over the session's stream
 * (server-sent events), forwards each — headers and signed body unchanged —
 * to the local URL and reports the answer, which Hookline logs as the
 * delivery's attempt. The server never connects to the local URL, so it may
 * be on loopback whatever the server's address policy. A dropped stream is
 * reopened with backoff (same session: what was not answered is sent
 * again); Ctrl-C ends the session and deletes it.
 */
export function listenCommand(config: () => Config) {
  return defineCommand({
    meta: {
      name: "listen",
      description: "Forward an account's deliveries to a local URL, signed as a hook's, and log the answers (HOOKLINE_API_KEY)",
    },
    args: {
      "forward-to": { type: "string", description: "Where to forward each delivery, e.g. http://localhost:3000/webhooks", required: true },
      events: { type: "string", description: "Comma-separated event types to receive (e.g. build:*,ping); default: every type" },
      url: { type: "string", description: "The server's URL; default: HOOKLINE_PUBLIC_URL, the embedded server's, or http://HOST:PORT" },
    },
    async run({ args }) {
      const settings = config();
      if (!settings.apiKey)
        throw new CliError(
          "HOOKLINE_API_KEY is required: set it to an API key of the account to listen as (`hookline keys create` makes one).",
        );
      const forwardTo = args["forward-to"];
      if (!URL.canParse(forwardTo) || !/^https?:$/.test(new URL(forwardTo).protocol))
        throw new CliError(`--forward-to must be an http(s) URL (got "${forwardTo}").`);
      const events = args.events
        ?.split(",")
        .map((e) => e.trim())
        .filter(Boolean);
      const url = serverUrl(settings, args.url);
      const client = createClient({ baseUrl: url, apiKey: settings.apiKey, retry: false });
      const created = await client
        .POST("/v1/listen-sessions", { body: { ...(events?.length ? { events } : {}), forward_to: forwardTo } })
        .catch((error: Error) => {
          throw new CliError(`Listening failed: cannot reach ${url} (${error.message}): start the server, or pass --url.`);
        });
      if (created.error !== undefined || !created.data) throw apiFailure("Starting a listen session", created.response, created.error);
      const session = created.data;
      console.log(
        `Ready: forwarding ${session.events.join(", ")} to ${forwardTo} (listen session ${session.id}, through ${url}). Ctrl-C to stop.`,
      );
      console.log(`Your webhook signing secret is ${session.secret}`);

      const stop = new AbortController();
      const onSignal = () => {
        if (stop.signal.aborted) process.exit(130);
        stop.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      // The worker's own HTTP client: the local app's answer is read as a hook's receiver's
      // would be (1xx skipped, a 204 with a Content-Length, an undecodable or huge compressed
      // body kept within the cap, repeated headers joined), not failed and sent again (issue 25).
      // The local URL is the user's own: no address policy.
      const transport = createDeliveryTransport({ allowPrivateTargets: true, timeoutMs: FORWARD_TIMEOUT_MS, deadlineMs: FORWARD_TIMEOUT_MS });
      try {
        await receive(client, transport, session.id, forwardTo, stop.signal);
      } finally {
        await transport.close();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        // Ends the session on the server (a session left behind would expire anyway).
        const removed = await client
          .DELETE("/v1/listen-sessions/{id}", { params: { path: { id: session.id } }, signal: AbortSignal.timeout(5_000) })
          .catch(() => undefined);
        console.log(
          removed?.response.ok
            ? `Listen session ${session.id} removed.`
            : `Listen session ${session.id} could not be removed; it expires on its own.`,
        );
      }
    },
  });
}

/** Reads the session's stream until `signal` aborts, reconnecting with backoff. */
async function receive(client: HooklineClient, transport: DeliveryTransport, id: number, forwardTo: string, signal: AbortSignal): Promise<void> {
  let backoff = RECONNECT_FIRST_MS;
  let connectedBefore = false;
  while (!signal.aborted) {
    try {
      const answer = await client.GET("/v1/listen-sessions/{id}/stream", { params: { path: { id } }, parseAs: "stream", signal });
      if (answer.response.status === 404)
        throw new CliError(`Listen session ${id} is gone (expired or deleted): run hookline listen again.`);
      if (!answer.response.ok || !answer.response.body) throw apiFailure("Opening the stream", answer.response, answer.error);
      if (connectedBefore) console.log("Reconnected.");
      connectedBefore = true;
      backoff = RECONNECT_FIRST_MS;
      // The pipe's own signal ends the stream on Ctrl-C: openapi-fetch hands fetch a Request, and once that Request
      // is garbage-collected undici no longer passes the caller's abort on to the response body (a read then hangs).
      const events = answer.response.body.pipeThrough(new TextDecoderStream(), { signal }).pipeThrough(new EventSourceParserStream());
      for await (const event of events) {
        if (event.event === "delivery") await forward(client, transport, id, forwardTo, JSON.parse(event.data) as ListenDeliveryMessage, signal);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof CliError && /is gone/.test(error.message)) throw error;
      console.error(`Stream interrupted (${(error as Error).message}); reconnecting in ${backoff} ms.`);
    }
    if (signal.aborted) return;
    await sleep(backoff, undefined, { signal }).catch(() => {});
    backoff = Math.min(RECONNECT_MAX_MS, backoff * 2);
  }
}

/** Sends one delivery to the local app, prints its line and reports the answer to Hookline. */
async function forward(
  client: HooklineClient,
  transport: DeliveryTransport,
  id: number,
  forwardTo: string,
  message: ListenDeliveryMessage,
  signal: AbortSignal,
): Promise<void> {
  const sent = await transport.send({ url: forwardTo, method: message.method, headers: message.headers, body: message.body }, { insecureSsl: false, signal });
  if (signal.aborted) return;
  // The exact bytes, whatever they are (a NUL, not UTF-8): Hookline stores them as a receiver's answer.
  // Within what the results operation takes (ListenResult), or the report is refused and the delivery sent again:
  // at most MAX_REPORTED_HEADERS headers, an error of at most 1,024 characters of storable text.
  const result =
    sent.status === null
      ? { status: null, error: logPrefix(storableText(sent.error ?? "no answer"), 1024) }
      : {
          status: sent.status,
          headers: Object.fromEntries(Object.entries(sent.headers).slice(0, MAX_REPORTED_HEADERS)),
          body_base64: Buffer.from(sent.body ?? new Uint8Array()).toString("base64"),
        };
  const durationMs = sent.durationMs;
  const outcome = result.status === null ? `error (${result.error})` : String(result.status);
  console.log(`${new Date().toISOString()}  ${message.event_type}  ${message.message_id}  ${outcome}  ${durationMs} ms`);
  const reported = await client
    .POST("/v1/listen-sessions/{id}/results", {
      params: { path: { id } },
      body: { delivery_id: message.delivery_id, duration_ms: durationMs, ...result },
    })
    .catch((error: Error) => ({ error, response: undefined }));
  if (reported.error !== undefined) console.error(`Could not report delivery ${message.delivery_id}'s answer; Hookline sends it again.`);
}
