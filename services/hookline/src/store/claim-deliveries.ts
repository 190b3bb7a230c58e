import { sql } from "kysely";
import type { Db } from "./db-handle.js";
import { messageIdOf } from "./message-id-sql.js";

/** A claimed delivery with everything needed to send it, read in the claim itself. */
export interface ClaimedDelivery {
  id: number;
  event_id: number;
  hook_id: number;
  account_id: string;
  /** The `webhook-id` every attempt of this delivery carries. */
  message_id: string;
  attempts: number;
  retry_base: number;
  event_type: string;
  /** The event's data as JSON text: sent as is when nothing is merged into it, parsed only when something is. */
  data_json: string;
  url: string;
  http_verb: "post" | "get";
  secret: string;
  /** The rotated-out secret while its grace period lasts, else null. */
  previous_secret: string | null;
  /** The hook's custom_data as the JSON text it was written in, or null. */
  custom_data: string | null;
  insecure_ssl: boolean;
  retries: number;
  is_active: boolean;
  /** For a throttled hook: when (epoch ms, database clock) this attempt may start; null: at once. */
  start_at: number | null;
  /** The claim left due rows behind (a hook's cap or throttle took fewer than were due): claim again without waiting. */
  more_due: boolean;
  /** The hook's consecutive failed attempts as the claim read them (the breaker's count; breaker-view.ts starts from it). */
  consecutive_failures: number;
}

/**
 * A hook on the default cap whose attempts average under FAST_ATTEMPT_MS
 * may hold FAST_HOOK_CAP_FACTOR × the default (a `max_in_flight` set on the
 * hook is always exact). Rows are held for the whole claim → send →
 * record cycle, not only while an attempt is open: a fast hook draining
 * thousands of rows needs hundreds held (Little's law), while the cap is
 * there to stop a slow receiver tying up the worker's slots. A hook not yet
 * known to be fast (no attempt recorded) gets the plain cap, so a slow one's
 * first burst is bounded too; a fast hook that turns slow can hold the larger
 * allowance for one attempt deadline, until its average catches up.
 */
export const FAST_ATTEMPT_MS = 1000;
export const FAST_HOOK_CAP_FACTOR = 16;

/** What the claim needs to know besides the hooks' own fields. */
export interface ClaimPolicy {
  /** The cap on rows held per hook for hooks whose `max_in_flight` is null. */
  hookMaxInFlight: number;
  /** Consecutive failures at which a hook's breaker is open: its cap drops to 1 (one probe at a time). */
  breakerThreshold: number;
  /** A throttled hook's rows are claimed only when they may start within this many ms. */
  throttleHorizonMs: number;
}

/**
 * Claims up to `limit` due deliveries for worker `workerId` (the queue's one
 * hot statement, graphile-worker style: select … for update skip locked, then
 * update … returning), fairly across hooks.
 *
 * SKIP LOCKED lets any number of workers claim at once without waiting on
 * each other or taking the same row. The claim moves `next_attempt_at` to the
 * end of the lease: a worker that dies holding rows needs no reaper, its rows
 * are simply due again when the lease runs out (at-least-once). The partial
 * index deliveries_due_order_idx serves the scan in `(next_attempt_at, id)`
 * order, so a claim reads about `limit` rows whatever the backlog, and
 * finished rows cost nothing.
 *
 * Order (issue 25): due rows are taken in `(next_attempt_at, id)` order — a
 * new row's `next_attempt_at` is its publish transaction's time and its id
 * follows publish order within it (events.ts) — and come back in that order
 * per hook, interleaved across hooks by their rank (every hook's first row,
 * then every hook's second …), which is the order the worker starts them in.
 *
 * Fairness (issue 9): a hook may have at most its cap of rows held — claimed
 * by any worker and not yet recorded — so a slow receiver ties up that many
 * worker slots, not all of them. `held` counts them from the small partial
 * index deliveries_held_idx; hooks at their cap, and hooks told to wait
 * (`not_before`: throttle pacing, breaker probe spacing), are left out of
 * the due scan, and a window rank keeps one claim from taking more of a
 * hook's rows than its room. The count is read in this statement's snapshot:
 * two claims running at the same moment can each fill the same room of a
 * healthy hook on the default cap, so that cap can be exceeded by one
 * claim's share per concurrent claimer, never more, and it is back under on
 * the next claim. A hook's own `max_in_flight` is exact (the README says so,
 * and `max_in_flight: 1` means one at a time): its room is granted as the
 * breaker's is, below (two worker processes sent a `max_in_flight: 1` hook
 * two requests at once). A
 * claim that left due rows of a capped hook behind says so (`more_due`): the
 * next claim, which skips that hook, runs at once instead of after a poll.
 *
 * The breaker (issue 25: a failing receiver gets at most the threshold of
 * requests): a hook not known to be healthy — its latest attempt failed, or
 * it has none yet — may have at most `breakerThreshold − consecutive_failures`
 * rows held, so every row it holds can fail and the count still only reaches
 * the threshold; at the threshold it gets one row (the probe), when its
 * `not_before` lets it. Each failure moves one row from held to the count
 * in the same statement (record-outcomes.ts), so the sum never grows. That
 * room is exact across workers: a claim that grants such a hook rows
 * rewrites the hook's row, and a claim whose snapshot read an older version
 * of the row (another claim, or an outcome, changed it since) grants that
 * hook nothing this time (READ COMMITTED re-checks the latest version; the
 * rows stay due and `more_due` is set). A healthy hook's rows are bounded
 * in the worker instead (delivery/breaker-view.ts).
 *
 * Throttling is GCRA on `hooks.throttle_tat`, exact across workers: the
 * UPDATE of a hook row re-reads the latest committed `throttle_tat` under its
 * row lock (READ COMMITTED re-evaluation), so two workers' grants never
 * overlap; each granted row gets its start time 1/rate after the previous.
 *
 * `onlyHooks` limits the claim to those hooks' rows (claim-isolated.ts,
 * when one hook's rows break the claim). `quota` (hook id → count) limits it
 * to those hooks and at most that many rows of each, still each hook's
 * oldest due rows in the order above: the NATS queue's messages are tokens,
 * one per pending delivery of their hook, and a worker claims as many rows
 * of a hook as it holds tokens of it (delivery/queue/nats/nats-queue.ts).
 * Without a quota the statement has no quota join.
 */
export async function claimDeliveries(
  db: Db,
  workerId: string,
  limit: number,
  leaseMs: number,
  policy: ClaimPolicy,
  onlyHooks?: number[],
  quota?: ReadonlyMap<number, number>,
): Promise<ClaimedDelivery[]> {
  const horizon = policy.throttleHorizonMs / 1000;
  const threshold = policy.breakerThreshold;
  // Known healthy: its latest recorded attempt succeeded.
  const unsure = sql`(h.consecutive_failures > 0 or h.last_status is distinct from 'success')`;
  const plainCap = sql`case
    when h.max_in_flight is null and h.attempt_ms_avg < ${FAST_ATTEMPT_MS} then ${FAST_HOOK_CAP_FACTOR * policy.hookMaxInFlight}
    else coalesce(h.max_in_flight, ${policy.hookMaxInFlight}) end`;
  // Room granted exactly across workers (see above): a hook not known healthy, and one with its own max_in_flight.
  const exact = sql`(${unsure} or h.max_in_flight is not null)`;
  const cap = sql`case
    when h.consecutive_failures >= ${threshold} then 1
    when ${unsure} then least(${threshold} - h.consecutive_failures, ${plainCap})
    else ${plainCap} end`;
  // Each hook's first `n` due rows at most (see `quota` above).
  const quotaRows = quota && JSON.stringify([...quota].map(([hook_id, n]) => ({ hook_id, n })));
  const quotaJoin = quotaRows ? sql`join jsonb_to_recordset(${quotaRows}::text::jsonb) as q(hook_id int, n int) on q.hook_id = r.hook_id and r.rank <= q.n` : sql``;
  const result = await sql<ClaimedDelivery>`
    with held as (
      -- A dead worker's rows stop counting when their lease runs out.
      select hook_id, count(*)::int as n from deliveries
      where locked_by is not null and locked_until > now()
      group by hook_id
    ), shut as (
      select held.hook_id from held join hooks h on h.id = held.hook_id where held.n >= ${cap}
      union all
      select id from hooks where not_before > now()
    ), due as (
      select id, hook_id, next_attempt_at from deliveries
      where status = 'pending' and next_attempt_at <= now()
        -- coalesce() changes nothing (the test is never null) but hides the
        -- filter from the row estimate: with few hooks, PostgreSQL takes
        -- "<> all(unknown array)" to remove nearly every row, and then
        -- prefers a Seq Scan and a full Sort of the backlog (LockRows sits
        -- between Limit and Sort, so not even a top-N sort) to walking
        -- the due index in order: 7 ms against 0.2 ms at 15,000 due rows.
        and coalesce(hook_id <> all(array(select hook_id from shut)), true)
        ${onlyHooks ? sql`and hook_id in (${sql.join(onlyHooks)})` : sql``}
        ${quota ? sql`and hook_id in (${sql.join([...quota.keys()])})` : sql``}
      -- id breaks ties: a batch's rows share one next_attempt_at.
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked
    ), ranked as (
      select due.id, due.hook_id, due.next_attempt_at, row_number() over (partition by due.hook_id order by due.next_attempt_at, due.id) as rank
      from due
    ), granted as (
      select r.id, r.hook_id, r.rank, r.next_attempt_at, h.rate_limit, ${exact} as exact, h.xmin::text as seen
      from ranked r join hooks h on h.id = r.hook_id left join held on held.hook_id = r.hook_id
        ${quotaJoin}
      where r.rank <= ${cap} - coalesce(held.n, 0)
        -- A throttled hook: only the rows that may start within the horizon.
        and (h.rate_limit is null
          or r.rank <= 1 + floor(extract(epoch from now() - greatest(h.throttle_tat, now())) * h.rate_limit + ${horizon} * h.rate_limit))
    ), touched as (
      select hook_id, count(*)::int as n, rate_limit, exact, seen from granted
      where rate_limit is not null or exact
      group by hook_id, rate_limit, exact, seen
    ), hooked as (
      -- One UPDATE per hook row (two CTEs writing one row would lose one):
      -- a throttled hook's pacing, and for a hook whose room is exact (not
      -- known healthy, or its own max_in_flight) a new row version, so a
      -- concurrent claim that read the old one sees the change, and the
      -- check that no claim did so since our snapshot.
      update hooks h
      set throttle_tat = case when t.rate_limit is null then h.throttle_tat
            else greatest(h.throttle_tat, now()) + make_interval(secs => t.n::float8 / h.rate_limit) end,
          not_before = case when t.rate_limit is null then h.not_before
            else greatest(h.not_before, greatest(h.throttle_tat, now()) + make_interval(secs => t.n::float8 / h.rate_limit - ${horizon})) end
      from touched t
      where h.id = t.hook_id and (not t.exact or h.xmin::text = t.seen)
      returning h.id as hook_id, h.throttle_tat as tat, case when t.rate_limit is null then null else h.rate_limit end as rate_limit, t.n
    ), claimable as (
      select g.id, g.hook_id, g.rank, g.next_attempt_at, p.tat, p.rate_limit, p.n
      from granted g left join hooked p on p.hook_id = g.hook_id
      where not g.exact or p.hook_id is not null
    ), claimed as (
      update deliveries d
      set locked_by = ${workerId},
          locked_until = now() + make_interval(secs => ${leaseMs / 1000}),
          next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
      from claimable g, hooks h, events e
      where d.id = g.id and h.id = d.hook_id and e.id = d.event_id
      returning d.id, d.event_id, d.hook_id, d.account_id, ${messageIdOf("d", "e")} as message_id, d.attempts, d.retry_base, e.type as event_type, e.data::text as data_json,
        h.url, h.http_verb, h.secret,
        case when h.previous_secret_expires_at > now() then h.previous_secret end as previous_secret,
        h.custom_data::text as custom_data, h.insecure_ssl, h.retries, h.is_active, h.consecutive_failures,
        (extract(epoch from g.tat - make_interval(secs => (g.n - g.rank + 1)::float8 / g.rate_limit)) * 1000)::float8 as start_at,
        (select count(*) from ranked) > (select count(*) from claimable) as more_due,
        g.rank, g.next_attempt_at as due_at
    )
    select id, event_id, hook_id, account_id, message_id, attempts, retry_base, event_type, data_json, url, http_verb, secret, previous_secret,
      custom_data, insecure_ssl, retries, is_active, consecutive_failures, start_at, more_due
    from claimed
    -- The order the worker starts them in: each hook's rows in due order, hooks taking turns.
    order by rank, due_at, id`.execute(db);
  return result.rows;
}
