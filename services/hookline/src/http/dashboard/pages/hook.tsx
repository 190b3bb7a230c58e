/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { DeliveryWithType } from "../../../store/deliveries.js";
import type { HookRow } from "../../../store/schema.js";
import { attemptLine, DeliveryStatus, hookLabel, Time } from "../components.js";
import { ActionForm, CsrfField, Layout, type PageSession } from "../layout.js";
import { DASHBOARD_PATH } from "../session.js";
import { HookState, PauseResume } from "./hooks.js";

export interface DeliveryPage {
  rows: DeliveryWithType[];
  status: string | undefined;
  /** The `before` cursor of the next (older) page, if there is one. */
  nextBefore: number | undefined;
  statuses: readonly string[];
}

/** One hook: its settings, its actions (pause, test event, rotate secret) and its deliveries, newest first. */
export function HookPage(props: { hook: HookRow; deliveries: DeliveryPage; eventTypes: string[]; session: PageSession; notice?: string | undefined }) {
  const { hook, deliveries } = props;
  const token = props.session.csrf_token;
  const base = `${DASHBOARD_PATH}/hooks/${hook.id}`;
  return (
    <Layout title={hookLabel(hook)} session={props.session}>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <dl class="facts">
        <dt>Callback URL</dt><dd><code class="url">{hook.url}</code></dd>
        <dt>Events</dt><dd>{hook.events.map((e) => <code class="event">{e}</code>)}</dd>
        <dt>State</dt><dd><HookState hook={hook} /></dd>
        <dt>Last delivery</dt>
        <dd>{hook.last_datetime ? <><Time at={hook.last_datetime} /> {hook.last_status} {hook.last_reason}</> : "Never"}</dd>
        <dt>Retries</dt><dd>{hook.retries}</dd>
      </dl>

      <section aria-labelledby="actions-heading" class="actions">
        <h2 id="actions-heading">Actions</h2>
        <PauseResume hook={hook} token={token} />
        <form method="post" action={`${base}/test-event`} class="inline">
          <CsrfField token={token} />
          <label for="test-type">Test event</label>
          <select id="test-type" name="type">
            {props.eventTypes.map((t) => <option value={t}>{t}</option>)}
          </select>
          <button type="submit">Send test event</button>
        </form>
        <ActionForm action={`${base}/rotate-secret`} label="Rotate secret" token={token} class="danger" />
      </section>

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
          <table class="list" id="deliveries">
            <caption>Newest first</caption>
            <thead>
              <tr>
                <th scope="col">Delivery</th><th scope="col">Event</th><th scope="col">Status</th>
                <th scope="col">Attempts</th><th scope="col">Last response</th><th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.rows.map((d) => (
                <tr>
                  <td><a href={`${DASHBOARD_PATH}/deliveries/${d.id}`}>{`#${d.id}`}</a></td>
                  <td><code class="event">{d.event_type}</code></td>
                  <td><DeliveryStatus delivery={d} /></td>
                  <td>{attemptLine(d, hook.retries)}</td>
                  <td>{d.last_response_status ?? d.last_error ?? "—"}</td>
                  <td><Time at={d.created_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
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
