import { defineCommand } from "citty";
import type { ApiKeyInfo } from "../auth/key-service.js";
import type { Config } from "../config.js";
import { MAX_INT4, parseDecimalInteger } from "../http/decimal-integers.js";
import { CliError } from "./cli-error.js";
import { openKeyBackend, type KeyBackend } from "./key-backends.js";

const where = {
  account: { type: "string", description: "Account id (32 hex characters); default: the key's own account (HOOKLINE_API_KEY) or the first account" },
  url: { type: "string", description: "A running server's URL, to go through its API instead of the database" },
  json: { type: "boolean", description: "Print JSON instead of text" },
} as const;

function keyIdOf(value: string): number {
  const id = parseDecimalInteger(value, 1, MAX_INT4);
  if (id === undefined) throw new CliError(`KEY_ID must be a key's id (a positive integer, as \`hookline keys list\` shows), not "${value}".`);
  return id;
}

function table(keys: ApiKeyInfo[]): string {
  const rows = [["ID", "NAME", "PREFIX", "CREATED", "LAST USED"], ...keys.map((k) => [String(k.id), k.name, k.key_prefix, k.created_at, k.last_used_at ?? "never"])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** `hookline keys list|create|revoke|rotate`: through the database or a running server (see openKeyBackend). */
export function keysCommand(config: () => Config) {
  async function withBackend(args: { account?: string; url?: string }, work: (backend: KeyBackend) => Promise<void>) {
    const backend = await openKeyBackend(config(), args);
    try {
      await work(backend);
    } finally {
      await backend.close();
    }
  }
  const shownOnce = (json: boolean | undefined, created: { id: number; key: string; name: string }, where: string) =>
    json ? JSON.stringify(created) : `API key ${created.id} "${created.name}" for ${where} (shown once, keep it):\n${created.key}`;

  return defineCommand({
    meta: { name: "keys", description: "List, create, revoke and rotate API keys" },
    subCommands: {
      list: defineCommand({
        meta: { name: "list", description: "List the account's active keys: id, name, prefix, created and last used (never the keys)" },
        args: where,
        run: ({ args }) =>
          withBackend(args, async (backend) => {
            const keys = await backend.list();
            console.log(args.json ? JSON.stringify(keys) : `Keys of ${backend.where}:\n${table(keys)}`);
          }),
      }),
      create: defineCommand({
        meta: { name: "create", description: "Create a key; the key is printed this once" },
        args: { ...where, name: { type: "string", description: "A name to tell the key apart", default: "cli key" } },
        run: ({ args }) => withBackend(args, async (backend) => console.log(shownOnce(args.json, await backend.create(args.name), backend.where))),
      }),
      revoke: defineCommand({
        meta: { name: "revoke", description: "Revoke a key: refused at once by the server that revokes it, by every server within HOOKLINE_KEY_CACHE_SECONDS" },
        args: { key_id: { type: "positional", description: "The key's id, as `hookline keys list` shows it", required: true }, ...where },
        run: ({ args }) =>
          withBackend(args, async (backend) => {
            await backend.revoke(keyIdOf(args.key_id));
            const seconds = config().keyCacheSeconds;
            console.log(args.json ? JSON.stringify({ revoked: Number(args.key_id) }) : `Revoked key ${args.key_id} of ${backend.where}; running servers refuse it within ${seconds} s (HOOKLINE_KEY_CACHE_SECONDS).`);
          }),
      }),
      rotate: defineCommand({
        meta: { name: "rotate", description: "Replace a key: a new key with the same name, the old one revoked, in one step" },
        args: { key_id: { type: "positional", description: "The key's id, as `hookline keys list` shows it", required: true }, ...where },
        run: ({ args }) => withBackend(args, async (backend) => console.log(shownOnce(args.json, await backend.rotate(keyIdOf(args.key_id)), backend.where))),
      }),
    },
  });
}
