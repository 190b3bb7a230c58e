import { sql } from "kysely";
import type { Db } from "./db-handle.js";
import type { DeliveryAttemptRow } from "./schema.js";

/**
 * `released`: the row goes back unsent (its hook's breaker opened while it
 * waited in the worker): pending again at its publish place
 * (`next_attempt_at = created_at`), no attempt spent or logged.
 */
export type DeliveryOutcomeKind = "succeeded" | "retry" | "failed" | "cancelled" | "released";

/** What one attempt (or a cancellation, which has no attempt) did to a delivery. */
export interface DeliveryOutcome {
  delivery_id: number;
  hook_id: number;
  outcome: DeliveryOutcomeKind;
  /** For `retry`: when the next attempt is due. */
  next_attempt_at: string | null;
  /** A `failed` outcome whose retries were used up, to be announced as `delivery.exhausted`. */
  exhausted?: boolean;
  /** Null for a cancellation (nothing was sent). */
  attempt:
    | (Omit<DeliveryAttemptRow, "id" | "delivery_id" | "attempted_at" | "response_body_encoding" | "request_from_event"> & {
        attempted_at: string;
        response_body_encoding?: "text" | "base64";
        /** Made from the event as it is: `request_body` is null and the derived headers left out; the log reads them from the event (schema.ts). */
        request_from_event?: boolean;
      })
    | null;
  /** The hook's `last_*` and `failed` fields after this outcome. */
  hook: { last_status: string; last_reason: string; last_context: string | null; failed: boolean | null; deactivate: boolean };
}

/** The longest wait between two probes of an open breaker. */
export const MAX_PROBE_INTERVAL_MS = 300_000;

/** How the hooks' breaker and auto-disable react to a batch (config.ts: HOOKLINE_BREAKER_*, HOOKLINE_AUTO_DISABLE_SECONDS). */
export interface BreakerPolicy {
  breakerThreshold: number;
  breakerProbeIntervalMs: number;
  autoDisableSeconds: number;
}

/** What a recorded batch changed that Hookline announces as operational events. */
export interface RecordedOutcomes {
  /** Deliveries this worker still held, now moved on. */
  updated: number;
  exhausted: Array<{ delivery_id: number; hook_id: number; account_id: string; event_id: number }>;
  /** Hooks this batch disabled (every attempt failing for the auto-disable period, or 410 Gone). */
  disabled: Array<{ hook_id: number; account_id: string; reason: string; failing_since: string | null }>;
}

/**
 * Records a batch of outcomes in one statement: attempts inserted, deliveries
 * moved on, hooks' `last_*`, breaker and auto-disable fields set. Rows a
 * worker hands back because their hook's breaker opened (`released`) ride
 * in the same batch as the failures that opened it, so no claim can find
 * them free while the hook's count still looks healthy.
 *
 * A row whose hook was deleted or disabled while the worker held it (its
 * attempt was in flight) still gets that attempt's outcome, but a `retry`
 * or `released` ends it `cancelled` rather than pending: nothing is sent
 * again to a hook that is gone or disabled (deleteHook; a disabled hook's
 * backlog is cancelled as it is claimed, attempt.ts).
 *
 * Only rows this worker still holds (`locked_by = workerId`) change: if our
 * lease ran out and another worker re-claimed a row, its result wins and ours
 * is dropped (the attempt itself is still logged — it happened).
 *
 * The breaker counts a hook's consecutive failed attempts: a success in the
 * batch restarts the count from the failures after it; at the threshold the
 * claim gives the hook one row at a time (the probe), and each failed probe
 * puts the next one away (`not_before`: a tenth of how long the hook has
 * been failing, at least `breakerProbeIntervalMs`, at most 5 minutes), so the
 * backlog waits without spending its retries. `failing_since` is the first
 * failure after the last success; a hook still failing `autoDisableSeconds`
 * after it is disabled with a `disabled_reason` (Svix's 5 days). Counters are
 * computed from the hook row's latest version (the UPDATE's own row), so two
 * workers' batches add up instead of overwriting each other.
 */
export async function recordOutcomes(db: Db, workerId: string, outcomes: DeliveryOutcome[], policy: BreakerPolicy): Promise<RecordedOutcomes> {
  if (outcomes.length === 0) return { updated: 0, exhausted: [], disabled: [] };
  // Only a hook's latest attempt in the batch sets its last_context (what was
  // sent): the others' copies of the body would be encoded and shipped for nothing.
  const latestOfHook = new Map<number, DeliveryOutcome>();
  for (const o of outcomes) {
    const seen = latestOfHook.get(o.hook_id);
    if (o.attempt && (!seen?.attempt || seen.attempt.attempted_at <= o.attempt.attempted_at)) latestOfHook.set(o.hook_id, o);
  }
  const rows = outcomes.map((o) => ({
    delivery_id: o.delivery_id,
    hook_id: o.hook_id,
    outcome: o.outcome,
    next_attempt_at: o.next_attempt_at,
    exhausted: o.exhausted ?? false,
    attempted: o.attempt !== null,
    ...(o.attempt ?? {}),
    last_status: o.hook.last_status,
    last_reason: o.hook.last_reason,
    last_context: latestOfHook.get(o.hook_id) === o ? o.hook.last_context : null,
    failed: o.hook.failed,
    deactivate: o.hook.deactivate,
  }));
  const disableAfter = sql`make_interval(secs => ${policy.autoDisableSeconds})`;
  // The hook's failing_since after this batch, from its latest row version.
  const failingSince = sql`case when j.fails = 0 then null when j.last_ok is not null then j.first_fail else coalesce(hooks.failing_since, j.first_fail) end`;
  // A tenth of how long the hook has been failing, between the configured
  // interval and MAX_PROBE_INTERVAL: a receiver back after a one-minute
  // outage is probed within seconds, one dead for days costs one attempt per
  // few minutes.
  const probeDelay = sql`least(make_interval(secs => ${MAX_PROBE_INTERVAL_MS / 1000}),
    greatest(make_interval(secs => ${policy.breakerProbeIntervalMs / 1000}), (now() - coalesce(${failingSince}, now())) / 10))`;
  const expired = sql`(j.fails > 0 and ${failingSince} < now() - ${disableAfter})`;
  const result = await sql<{ updated: number; exhausted: string; disabled: string }>`
    with o as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as o(
        delivery_id bigint, hook_id int, outcome text, next_attempt_at timestamptz, exhausted boolean, attempted boolean,
        attempted_at timestamptz, duration_ms int, request_headers jsonb, request_body text, request_from_event boolean, response_status int,
        response_headers jsonb, response_body text, response_body_encoding text, error_kind text, error text,
        last_status text, last_reason text, last_context text, failed boolean, deactivate boolean)
    ), d as (
      update deliveries d
      set status = case when o.outcome not in ('retry', 'released') then o.outcome when hk.active then 'pending' else 'cancelled' end,
          attempts = d.attempts + case when o.attempted then 1 else 0 end,
          -- A released row goes back to its publish place (as release-deliveries.ts).
          next_attempt_at = case when o.outcome = 'released' then d.created_at else coalesce(o.next_attempt_at, d.next_attempt_at) end,
          locked_by = null, locked_until = null,
          last_attempt_at = coalesce(o.attempted_at, d.last_attempt_at),
          last_response_status = case when o.attempted then o.response_status else d.last_response_status end,
          last_error = case when o.attempted then o.error when hk.active is null then 'not sent: the hook was deleted' else coalesce(o.error, d.last_error) end,
          finished_at = case when o.outcome in ('retry', 'released') and hk.active then null else now() end,
          updated_at = now()
      -- hk.active: null when the hook was deleted meanwhile, false when disabled.
      from o, lateral (select (select h.is_active from hooks h where h.id = o.hook_id) as active) hk
      -- The = any(array) lets the primary key find the rows whatever the
      -- statistics say; a plain join seq-scanned the whole table per batch.
      where d.id = any(array(select delivery_id from o)) and d.id = o.delivery_id and d.locked_by = ${workerId}
      -- What the hook update needs comes back with the row: joining o to d
      -- again (both CTE scans, the planner guesses 100 rows each) became a
      -- nested loop, quadratic in the batch — 1.6 ms a row at 3,000.
      returning d.id, d.account_id, d.event_id, o.hook_id, o.outcome = 'succeeded' as ok, o.exhausted, o.attempted, o.attempted_at, o.duration_ms,
        o.last_status, o.last_reason, o.last_context, o.failed, o.deactivate
    ), a as (
      insert into delivery_attempts (delivery_id, attempted_at, duration_ms, request_headers, request_body, request_from_event, response_status, response_headers, response_body, response_body_encoding, error_kind, error)
      select o.delivery_id, o.attempted_at, o.duration_ms, o.request_headers, o.request_body, coalesce(o.request_from_event, false), o.response_status, o.response_headers, o.response_body,
        coalesce(o.response_body_encoding, 'text'), o.error_kind, o.error
      -- Retention may have pruned the delivery meanwhile. The ids come from
      -- the primary key by = any(array), as above: a plain exists() was
      -- planned as a semi-join over a Seq Scan of the whole table.
      from o where o.attempted and o.delivery_id in (select x.id from deliveries x where x.id = any(array(select delivery_id from o)))
    ), per_hook as materialized (
      -- One row per hook, from one pass over its attempts in the batch:
      -- its last success and the failures after it (all of them when none
      -- succeeded) — what restarts or extends its run of failures — and its
      -- latest attempt, which last_* describe. A 410 anywhere in the batch
      -- deactivates, and "failed" follows the latest attempt that decided it
      -- (a success or an exhausted delivery), not a mere retry. One pass,
      -- not two per-hook sets joined: the planner cannot size either (they
      -- come from the UPDATE above), and it rescanned one for every row of
      -- the other, quadratic in the hooks of a batch (5 s for an outcome
      -- batch of 1,940 hooks in a fan-out, bench/README.md).
      select hook_id, max(last_ok) as last_ok, avg(duration_ms) as avg_ms,
             count(*) filter (where not ok and attempted_at > coalesce(last_ok, '-infinity')) as fails,
             min(attempted_at) filter (where not ok and attempted_at > coalesce(last_ok, '-infinity')) as first_fail,
             max(attempted_at) as attempted_at,
             (array_agg(last_status) filter (where latest))[1] as last_status,
             (array_agg(last_reason) filter (where latest))[1] as last_reason,
             (array_agg(last_context) filter (where latest))[1] as last_context,
             bool_or(deactivate) as deactivate,
             (array_agg(decided))[1] as failed
      from (
        select hook_id, ok, attempted_at, duration_ms, last_status, last_reason, last_context, deactivate,
               max(attempted_at) filter (where ok) over (partition by hook_id) as last_ok,
               -- Two attempts at the same instant: the one recordOutcomes sent last_context with (latestOfHook).
               row_number() over (partition by hook_id order by attempted_at desc, last_context is null) = 1 as latest,
               first_value(failed) over (partition by hook_id order by failed is null, attempted_at desc) as decided
        from d where attempted
      ) x
      group by hook_id
    ), j as (
      select p.*, hk.is_active as was_active from per_hook p join hooks hk on hk.id = p.hook_id
    ), h as (
      update hooks
      set last_datetime = j.attempted_at, last_status = j.last_status, last_reason = j.last_reason,
          last_context = j.last_context, failed = coalesce(j.failed, hooks.failed),
          -- Recent batches weigh most: a hook that turns slow loses the fast allowance within a few batches.
          attempt_ms_avg = round(coalesce(hooks.attempt_ms_avg * 0.5 + j.avg_ms * 0.5, j.avg_ms)),
          consecutive_failures = case when j.last_ok is not null then j.fails else hooks.consecutive_failures + j.fails end,
          failing_since = ${failingSince},
          not_before = case
            when j.fails > 0 and (case when j.last_ok is not null then j.fails else hooks.consecutive_failures + j.fails end) >= ${policy.breakerThreshold}
            then greatest(hooks.not_before, now() + ${probeDelay})
            else hooks.not_before end,
          is_active = hooks.is_active and not j.deactivate and not ${expired},
          disabled_reason = case
            when hooks.is_active and j.deactivate then 'the receiver answered 410 Gone'
            when hooks.is_active and ${expired} then 'every attempt failed since ' || to_char(${failingSince} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            else hooks.disabled_reason end
      from j
      where hooks.id = j.hook_id
      returning hooks.id as hook_id, hooks.account_id, j.was_active and not hooks.is_active as disabled, hooks.disabled_reason as reason, hooks.failing_since
    )
    select (select count(*) from d)::int as updated,
      (select coalesce(json_agg(json_build_object('delivery_id', id, 'hook_id', hook_id, 'account_id', account_id, 'event_id', event_id)), '[]')::text from d where exhausted) as exhausted,
      (select coalesce(json_agg(json_build_object('hook_id', hook_id, 'account_id', account_id, 'reason', reason, 'failing_since', failing_since)), '[]')::text from h where disabled) as disabled`.execute(db);
  const row = result.rows[0]!;
  // As text: one shape from both drivers (each parses json its own way).
  const exhausted = JSON.parse(row.exhausted) as RecordedOutcomes["exhausted"];
  return {
    updated: Number(row.updated),
    exhausted: exhausted.map((e) => ({ ...e, delivery_id: Number(e.delivery_id), event_id: Number(e.event_id) })),
    disabled: JSON.parse(row.disabled) as RecordedOutcomes["disabled"],
  };
}
