import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";

/** A database or a transaction: every store function takes either. */
export type Db = Kysely<Database> | Transaction<Database>;
