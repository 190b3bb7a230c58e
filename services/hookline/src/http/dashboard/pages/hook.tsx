/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { DeliveryWithType } from "../../../store/deliveries.js";
import type { HealthBucket, LastFailure } from "../../../store/hook-health.js";
import type { HookRow } from "../../../store/schema.js";
import { DeliveryTable } from "../components/delivery-table.js";
import { hookLabel, Time } from "../components/common.js";
import { HealthPanel } from "../components/health-chart.js";
import { ActionForm, Layout, type PageSession } from "../layout.js";
import { RecoverSection, TestEventSection, type TestEventForm } from "./hook-tools.js";
import { HookState, PauseResume } from "./hooks.js";

export interface DeliveryPage {
  rows: DeliveryWithType[];
  status: string | undefined;
  /** The `before` cursor of the next (older) page, if there is one. */
  nextBefore: number | undefined;
  statuses: readonly string[];
}

/** One hook: settings, health, actions (pause, edit, test event, recover, rotate secret) and its deliveries, newest first. */
export function HookPage(props: {
  hook: HookRow;
  deliveries: DeliveryPage;
  health: { buckets: HealthBucket[]; lastFailure: LastFailure | undefined; breakerThreshold: number };
  testEvent: TestEventForm;
  session: PageSession;
  notice?: string | undefined;
}) {
  const { hook, deliveries, session } = props;
  const base = `${session.base}/hooks/${hook.id}`;
  return (
    <Layout title={hookLabel(hook)} session={session}>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <dl class="facts">
        <dt>Callback URL</dt><dd><code class="url">{hook.url}</code></dd>
        <dt>Events</dt><dd>{hook.events.map((e) => <code class="event">{e}</code>)}</dd>
        {hook.filter && <><dt>Subject types</dt><dd>{((hook.filter.for_all as string[] | undefined) ?? []).join(", ")}</dd></>}
        <dt>State</dt><dd><HookState hook={hook} />{hook.disabled_reason && <span class="muted">{` ${hook.disabled_reason}`}</span>}</dd>
        <dt>Last delivery</dt>
        <dd>{hook.last_datetime ? <><Time at={hook.last_datetime} /> {hook.last_status} {hook.last_reason}</> : "Never"}</dd>
        <dt>Retries</dt><dd>{hook.retries}</dd>
        <dt>Rate limit</dt><dd>{hook.rate_limit === null ? "unlimited" : `${hook.rate_limit} per second`}</dd>
        <dt>In-flight cap</dt><dd>{hook.max_in_flight ?? "server default"}</dd>
      </dl>

      {!session.readOnly && (
        <section aria-labelledby="actions-heading" class="actions">
          <h2 id="actions-heading">Actions</h2>
          <PauseResume hook={hook} session={session} />
          <a class="button secondary" href={`${base}/edit`}>Edit</a>{" "}
          <ActionForm action={`${base}/rotate-secret`} label="Rotate secret" token={session.csrf_token} class="danger" />
        </section>
      )}

      <HealthPanel hook={hook} {...props.health} base={session.base} />

      {!session.readOnly && <TestEventSection hook={hook} session={session} form={props.testEvent} />}
      {!session.readOnly && <RecoverSection hook={hook} session={session} />}

      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">Deliveries</h2>
        <form method="get" action={base} class="inline filter">
          <label for="status">Status</label>
          <select id="status" name="status">
            <option value="" selected={!deliveries.status}>Any</option>
            {deliveries.statuses.map((s) => <option value={s} selected={s === deliveries.status}>{s}</option>)}
          </select>
          <button type="submit">Filter</button>
          <a href={base}>Refresh</a>
        </form>
        {deliveries.rows.length === 0 ? (
          <p>No deliveries{deliveries.status ? ` with status ${deliveries.status}` : ""}.</p>
        ) : (
          <DeliveryTable rows={deliveries.rows} base={session.base} retries={() => hook.retries} show="event" />
        )}
        {deliveries.nextBefore !== undefined && (
          <nav aria-label="Pages">
            <a rel="next" href={`${base}?${new URLSearchParams({ ...(deliveries.status ? { status: deliveries.status } : {}), before: String(deliveries.nextBefore) })}`}>
              Older deliveries
            </a>
          </nav>
        )}
      </section>
    </Layout>
  );
}
