import { defineCommand, runMain } from "citty";
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

const main = defineCommand({
  meta: { name: "hookline", description: "Hookline operator commands" },
  subCommands: { migrate, keys: defineCommand({ meta: { name: "keys" }, subCommands: { create: createKey } }) },
});

await runMain(main);
