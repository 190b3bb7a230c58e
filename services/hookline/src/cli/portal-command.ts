import { createClient } from "@hookline/sdk";
import { defineCommand } from "citty";
import type { Config } from "../config.js";
import { parseDecimalInteger } from "../http/decimal-integers.js";
import { apiFailure, CliError } from "./cli-error.js";
import { embeddedAdmin, serverUrl } from "./server-target.js";

/**
 * `hookline portal [account-id]`: prints a one-time link to an account's
 * customer portal, made by a running server — for `account-id` with
 * HOOKLINE_ADMIN_TOKEN (POST /v1/accounts/{id}/portal-sessions), or for the
 * key's own account with HOOKLINE_API_KEY (POST /v1/portal-sessions). On
 * the embedded database, the server holding the data folder lends its admin
 * token and default account (cli/server-target.ts, embeddedAdmin), as for
 * `keys`: no key or token to set.
 */
export function portalCommand(config: () => Config) {
  return defineCommand({
    meta: { name: "portal", description: "Print a one-time link to an account's customer portal (valid for minutes, opens once)" },
    args: {
      account_id: { type: "positional", description: "The account (needs HOOKLINE_ADMIN_TOKEN); without it, HOOKLINE_API_KEY's own account", required: false },
      "read-only": { type: "boolean", description: "Show, but allow no change" },
      "event-types": { type: "string", description: "Only these event types, separated by commas" },
      ttl: { type: "string", description: "Seconds the link may be opened in (60-3600, default 600)" },
      url: { type: "string", description: "The server's URL; default: HOOKLINE_PUBLIC_URL, the embedded server's, or http://HOST:PORT" },
    },
    async run({ args }) {
      const settings = config();
      const url = serverUrl(settings, args.url);
      // On this machine's embedded server, the admin token it recorded beside its lock (as `keys` does).
      const embedded = embeddedAdmin(settings, url);
      const useKey = !args.account_id && settings.apiKey !== undefined;
      const accountId = useKey ? undefined : (args.account_id ?? embedded?.defaultAccount);
      const token = useKey ? settings.apiKey : (settings.adminToken ?? embedded?.token);
      if (!token || (!useKey && !accountId)) {
        throw new CliError(
          args.account_id
            ? "HOOKLINE_ADMIN_TOKEN is required to make a link for another account (the embedded server on this machine's data folder provides it by itself)."
            : "HOOKLINE_API_KEY is required (or name an account and set HOOKLINE_ADMIN_TOKEN, or run the embedded server on this data folder).",
        );
      }
      const ttl = args.ttl === undefined ? undefined : parseDecimalInteger(args.ttl, 60, 3600);
      if (args.ttl !== undefined && ttl === undefined) throw new CliError(`--ttl must be a whole number of seconds from 60 to 3600, in decimal digits (got "${args.ttl}").`);
      const eventTypes = args["event-types"]?.split(",").map((t) => t.trim()).filter(Boolean);
      const body = { ...(args["read-only"] ? { read_only: true } : {}), ...(eventTypes?.length ? { event_types: eventTypes } : {}), ...(ttl !== undefined ? { ttl_seconds: ttl } : {}) };
      const client = createClient({ baseUrl: url, apiKey: token, retry: false });
      const request = accountId
        ? client.POST("/v1/accounts/{account_id}/portal-sessions", { params: { path: { account_id: accountId } }, body })
        : client.POST("/v1/portal-sessions", { body });
      const answer = await request.catch((error: Error) => {
        throw new CliError(`Making a portal link failed: cannot reach ${url} (${error.message}): start the server, or pass --url.`);
      });
      if (answer.error !== undefined || !answer.data) throw apiFailure("Making a portal link", answer.response, answer.error);
      console.log(answer.data.url);
      console.error(`Opens once, until ${answer.data.expires_at}${answer.data.read_only ? "; read-only" : ""}${answer.data.event_types ? `; event types ${answer.data.event_types.join(", ")}` : ""}.`);
    },
  });
}
