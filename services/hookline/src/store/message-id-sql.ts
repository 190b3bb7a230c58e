import { sql, type RawBuilder } from "kysely";

/**
 * A delivery's `webhook-id` in SQL: `msg_<event's message_ulid>_<hook id>`,
 * or, for a row written before 2026-12-06, the id it stored (and its
 * receivers have seen). `delivery` and `event` are the aliases of the
 * deliveries row and its event in the query.
 *
 * @example
 * sql`select ${messageIdOf("d", "e")} as message_id from deliveries d join events e on e.id = d.event_id`
 */
export function messageIdOf(delivery: string, event: string): RawBuilder<string> {
  return sql<string>`coalesce(${sql.ref(`${delivery}.message_id`)}, 'msg_' || ${sql.ref(`${event}.message_ulid`)} || '_' || ${sql.ref(`${delivery}.hook_id`)})`;
}

/** The largest hook id: `hooks.id` is a PostgreSQL `integer` (serial). */
const MAX_HOOK_ID = 2_147_483_647;

/**
 * The event ULID and hook id a `webhook-id` of the `msg_<ULID>_<hook id>` form
 * names, or undefined — also when the hook id is beyond any hook's, which a
 * query would refuse as out of range for `integer` (a 500 for a typo).
 */
export function parseMessageId(messageId: string): { ulid: string; hookId: number } | undefined {
  const match = /^msg_([0-9A-HJKMNP-TV-Z]{26})_([1-9][0-9]{0,9})$/.exec(messageId);
  const hookId = Number(match?.[2]);
  return match && hookId <= MAX_HOOK_ID ? { ulid: match[1]!, hookId } : undefined;
}
