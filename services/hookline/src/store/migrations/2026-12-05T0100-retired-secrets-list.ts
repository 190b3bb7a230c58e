import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
//
// hooks.previous_secret becomes the list of every rotated-out secret still
// in its grace period, as JSON text, newest first:
// [{"secret": "<sealed>", "expires_at": "<ISO 8601>"}]. A second rotation
// inside the grace period dropped the first one's retired secret mid-grace;
// now each keeps signing until its own end. previous_secret_expires_at keeps
// the latest end. The one secret a row held becomes a list of one.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update hooks set previous_secret = json_build_array(json_build_object(
      'secret', previous_secret,
      'expires_at', to_char(coalesce(previous_secret_expires_at, 'epoch'::timestamptz) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text
    where previous_secret is not null and left(previous_secret, 1) <> '['`.execute(db);
}

// Back to one secret: the newest retired one.
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    update hooks set previous_secret = previous_secret::json -> 0 ->> 'secret'
    where left(previous_secret, 1) = '['`.execute(db);
}
