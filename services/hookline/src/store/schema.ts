import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/**
 * The typed shape of Hookline's tables, as the migrations leave them.
 * Timestamps are `timestamptz`; JSON columns are `jsonb`.
 */
export interface Database {
  accounts: AccountTable;
  api_keys: ApiKeyTable;
  hooks: HookTable;
}

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = Record<string, unknown>;

export interface AccountTable {
  /** 32 lowercase hex characters, the form Kazoo's account-scoped paths use. */
  id: string;
  name: string;
  created_at: Timestamp;
}

export interface ApiKeyTable {
  id: Generated<number>;
  account_id: string;
  name: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  key_hash: string;
  /** The first characters of the key, shown in listings so a user can tell keys apart. */
  key_prefix: string;
  created_at: Timestamp;
  revoked_at: Date | null;
}

export interface HookTable {
  id: Generated<number>;
  account_id: string;
  url: string;
  events: string[];
  name: string | null;
  subject_type: string | null;
  subject: string | null;
  filter: Json | null;
  secret: string;
  /** The secret a rotation replaced; it keeps signing until `previous_secret_expires_at`. */
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  is_active: boolean;
  http_verb: "post" | "get";
  retries: number;
  custom_data: Json | null;
  insecure_ssl: boolean;
  failed: Generated<boolean>;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_datetime: Date | null;
  last_status: string | null;
  last_reason: string | null;
  last_context: string | null;
}

export type AccountRow = Selectable<AccountTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type HookRow = Selectable<HookTable>;
export type NewHook = Insertable<HookTable>;
export type HookUpdate = Updateable<HookTable>;
