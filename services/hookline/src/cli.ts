import { defineCommand, runMain } from "citty";
import { loadConfig } from "./config.js";
import { issueApiKey } from "./auth/key-service.js";
import { findAccount } from "./store/accounts.js";
import { createLogger } from "./logger.js";
import { resolveSecretBox } from "./signing/main-key.js";
import { migrateToLatest, openStore } from "./store/database.js";
import { findUnreadableSecret, resealHookSecrets } from "./store/hook-secrets.js";

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

const reencrypt = defineCommand({
  meta: {
    name: "reencrypt",
    description: "Re-encrypt every hook's signing secrets under HOOKLINE_MAIN_SECRET (old keys in HOOKLINE_MAIN_SECRET_PREVIOUS); safe to interrupt and rerun",
  },
  args: { batch: { type: "string", description: "Hooks per batch (each batch commits by itself)", default: "500" } },
  run: ({ args }) =>
    withStore(async (store) => {
      const batchSize = Number(args.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
        console.error("--batch: must be an integer from 1 to 10000");
        process.exitCode = 2;
        return;
      }
      const config = loadConfig(process.env);
      const box = await resolveSecretBox(config, createLogger("warn"));
      const unreadable = await findUnreadableSecret(store.db, box);
      if (unreadable) {
        console.error(`HOOKLINE_MAIN_SECRET_PREVIOUS: hook ${unreadable.id} is encrypted under main key ${unreadable.keyId}, which is not configured; list it there`);
        process.exitCode = 2;
        return;
      }
      const done = await resealHookSecrets(store.db, box, { batchSize, onBatch: (p) => console.log(`re-encrypted ${p.resealed} hooks…`) });
      console.log(`Re-encrypted ${done.resealed} hooks under main key ${box.current.id}; ${done.remaining} still to do (changed meanwhile: run again).`);
      if (done.unreadable.length > 0) console.error(`Not re-encrypted, their stored secret does not open (tampered?): hooks ${done.unreadable.join(", ")}`);
      if (done.remaining > 0) process.exitCode = 1;
    }),
});

const main = defineCommand({
  meta: { name: "hookline", description: "Hookline operator commands" },
  subCommands: {
    migrate,
    keys: defineCommand({ meta: { name: "keys" }, subCommands: { create: createKey } }),
    secrets: defineCommand({ meta: { name: "secrets" }, subCommands: { reencrypt } }),
  },
});

await runMain(main);
