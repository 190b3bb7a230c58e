import { defineCommand, runMain } from "citty";
import { readFile } from "node:fs/promises";
import { createPublishService } from "./events/publish-service.js";
import { EventBatchSchema } from "./http/events/event-schemas.js";
import { builtInEventTypes, loadOpenApiDocument } from "./spec/openapi-document.js";
import { loadConfig } from "./config.js";
import { issueApiKey } from "./auth/key-service.js";
import { findAccount } from "./store/accounts.js";
import { migrateToLatest, openStore } from "./store/database.js";

// Operator commands against the configured database (same env as the server).
async function withStore<T>(work: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    await migrateToLatest(store);
    return await work(store);
  } finally {
    await store.close();
  }
}

const migrate = defineCommand({
  meta: { name: "migrate", description: "Apply pending database migrations" },
  run: () =>
    withStore(async () => {
      console.log("Database is at the latest migration.");
    }),
});

const createKey = defineCommand({
  meta: { name: "create", description: "Create an API key (for the default account unless --account is given)" },
  args: {
    account: { type: "string", description: "Account id (32 hex characters)" },
    name: { type: "string", description: "A name to tell the key apart", default: "cli key" },
  },
  run: ({ args }) =>
    withStore(async (store) => {
      const accountId = args.account ?? (await store.db.selectFrom("accounts").select("id").orderBy("created_at").executeTakeFirst())?.id;
      if (!accountId || !(await findAccount(store.db, accountId))) {
        console.error(args.account ? `No account ${args.account}.` : "No account yet: start the server once to create the default account.");
        process.exitCode = 1;
        return;
      }
      const created = await issueApiKey(store, accountId, args.name);
      console.log(`API key for account ${accountId} (shown once):\n${created.key}`);
    }),
});

const publish = defineCommand({
  meta: { name: "publish", description: "Publish events from a JSON file (an array, or {\"events\": [...]}) as POST /v1/events/batch does; prints one result per event" },
  args: {
    file: { type: "positional", description: "JSON file of up to 1,000 events ({type, data, subject_type?, subject?, idempotency_key?})", required: true },
    account: { type: "string", description: "Account id (32 hex characters); the default account when absent" },
  },
  run: ({ args }) =>
    withStore(async (store) => {
      const parsed = JSON.parse(await readFile(args.file, "utf8")) as unknown;
      const events = Array.isArray(parsed) ? parsed : (parsed as { events?: unknown }).events;
      const checked = EventBatchSchema.safeParse({ events });
      if (!checked.success) {
        for (const issue of checked.error.issues) console.error(`${issue.path.join(".")}: ${issue.message}`);
        process.exitCode = 1;
        return;
      }
      const accountId = args.account ?? (await store.db.selectFrom("accounts").select("id").orderBy("created_at").executeTakeFirst())?.id;
      const account = accountId ? await findAccount(store.db, accountId) : undefined;
      if (!account) {
        console.error(args.account ? `No account ${args.account}.` : "No account yet: start the server once to create the default account.");
        process.exitCode = 1;
        return;
      }
      const service = createPublishService({ store, eventTypes: builtInEventTypes(loadOpenApiDocument()) });
      const results = await service.publishMany({ id: account.id, name: account.name }, checked.data.events);
      for (const r of results) console.log(JSON.stringify(r.ok ? r.result : "mismatch" in r ? { error: "idempotency_key used for another event" } : { error: r.error.detail, fields: r.error.fields }));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    }),
});

const main = defineCommand({
  meta: { name: "hookline", description: "Hookline operator commands" },
  subCommands: { migrate, publish, keys: defineCommand({ meta: { name: "keys" }, subCommands: { create: createKey } }) },
});

await runMain(main);
