// The store's public surface (kept apart from the HTTP app so tests can open a database alone).
export { openStore, migrateToLatest, type Store, type StoreKind, type StoreOptions } from "./database.js";
export type { Database } from "./schema.js";
export { messageIdOf } from "./message-id-sql.js";
