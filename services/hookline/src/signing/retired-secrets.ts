/**
 * The signing secrets a hook's rotations have retired and that still sign
 * beside the current one until each one's grace period ends.
 *
 * Every rotation retires the current secret for its whole grace period
 * (`HOOKLINE_SECRET_ROTATION_GRACE_SECONDS`), whatever happens beside it: a
 * second rotation inside the grace period retires the second secret too and
 * drops neither. Each delivery is signed with the current secret and every
 * retired one whose grace has not ended — Standard Webhooks allows several
 * space-separated signatures in `webhook-signature` for exactly this — so a
 * receiver still holding any of them verifies. At most MAX_RETIRED_SECRETS
 * are in their grace period at once: a rotation beyond that is refused (it
 * would have to cut someone's grace short), until the oldest one ends.
 *
 * Stored in `hooks.previous_secret` as the JSON text of a list, newest first:
 * `[{"secret":"<sealed>","expires_at":"<ISO 8601>"}]`, each secret sealed on
 * its own (signing/secret-box.ts); `hooks.previous_secret_expires_at` holds
 * the latest end, so a reader can skip the list once all have ended. A value
 * that is not a list is one secret from before lists (the migration
 * 2026-12-05T0100 converts them; read as one entry, to be safe).
 */
export interface RetiredSecret {
  /** The secret (sealed as stored, clear once opened). */
  secret: string;
  /** When it stops signing: ISO 8601. */
  expires_at: string;
}

/** Most retired secrets in their grace period at once: every delivery carries one signature per secret, plus the current one. */
export const MAX_RETIRED_SECRETS = 10;

/** The stored list; `legacyExpiresAt` dates a value from before lists (`previous_secret_expires_at`). */
export function parseRetiredSecrets(stored: string | null, legacyExpiresAt?: Date | null): RetiredSecret[] {
  if (stored === null || stored === "") return [];
  if (!stored.startsWith("[")) return [{ secret: stored, expires_at: (legacyExpiresAt ?? new Date(0)).toISOString() }];
  return (JSON.parse(stored) as RetiredSecret[]).filter((entry) => typeof entry?.secret === "string" && typeof entry.expires_at === "string");
}

/** The list as stored, or null when it is empty. */
export function serializeRetiredSecrets(list: readonly RetiredSecret[]): string | null {
  return list.length === 0 ? null : JSON.stringify(list.map(({ secret, expires_at }) => ({ secret, expires_at })));
}

/** The entries whose grace has not ended at `now`, newest first. */
export function liveRetiredSecrets(list: readonly RetiredSecret[], now: Date): RetiredSecret[] {
  return list.filter((entry) => Date.parse(entry.expires_at) > now.getTime());
}

/** The latest end among `list`, or null when it is empty (`previous_secret_expires_at`). */
export function latestExpiry(list: readonly RetiredSecret[]): Date | null {
  if (list.length === 0) return null;
  return new Date(Math.max(...list.map((entry) => Date.parse(entry.expires_at))));
}

/** Applies `transform` to each entry's secret (open, seal, reseal), keeping its end. */
export function mapRetiredSecrets(list: readonly RetiredSecret[], transform: (secret: string) => string): RetiredSecret[] {
  return list.map((entry) => ({ secret: transform(entry.secret), expires_at: entry.expires_at }));
}
