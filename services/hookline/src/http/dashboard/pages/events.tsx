/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { LoggedEvent } from "../../../store/event-search.js";
import { Time } from "../components/common.js";
import { Layout, type PageSession } from "../layout.js";

/** The event log's search and filters, as the query string carries them. */
export interface EventLogQuery {
  q?: string | undefined;
  type?: string | undefined;
  status?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** "2 succeeded · 1 failed": how an event's deliveries stand. */
function Statuses(props: { event: LoggedEvent }) {
  const entries = Object.entries(props.event.statuses);
  if (entries.length === 0) return <span class="muted">no deliveries</span>;
  return (
    <>
      {entries.map(([status, n]) => (
        <span class={`badge ${status}`}>{`${n} ${status}`}</span>
      ))}
    </>
  );
}

/**
 * Every event of the account across its hooks, newest first (Stripe's event
 * log): one search box (event id, type, subject or a delivery's
 * `webhook-id`) and filters by type, delivery status and date. A GET form,
 * so a search is a link one can share.
 */
export function EventLogPage(props: {
  events: LoggedEvent[];
  query: EventLogQuery;
  nextBefore: number | undefined;
  types: string[];
  statuses: readonly string[];
  session: PageSession;
}) {
  const { base } = props.session;
  const q = props.query;
  const next = new URLSearchParams(
    Object.entries({ ...q, before: props.nextBefore === undefined ? undefined : String(props.nextBefore) }).filter((e): e is [string, string] => !!e[1]),
  );
  return (
    <Layout title="Events" session={props.session}>
      <search>
      <form method="get" action={`${base}/events`} class="search">
        <div class="field wide">
          <label for="q">Search</label>
          <input id="q" name="q" type="search" value={q.q ?? ""} placeholder="event id, type, subject or msg_… webhook-id" />
        </div>
        <div class="field">
          <label for="type">Type</label>
          <input id="type" name="type" type="text" list="event-types" value={q.type ?? ""} />
          <datalist id="event-types">{props.types.map((t) => <option value={t} />)}</datalist>
        </div>
        <div class="field">
          <label for="status">Delivery status</label>
          <select id="status" name="status">
            <option value="" selected={!q.status}>Any</option>
            {props.statuses.map((s) => <option value={s} selected={s === q.status}>{s}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="since">From (UTC)</label>
          <input id="since" name="since" type="date" value={q.since?.slice(0, 10) ?? ""} />
        </div>
        <div class="field">
          <label for="until">To (UTC)</label>
          <input id="until" name="until" type="date" value={q.until?.slice(0, 10) ?? ""} />
        </div>
        <div class="field buttons">
          <button type="submit">Search</button>
          <a href={`${base}/events`}>Clear</a>
        </div>
      </form>
      </search>
      {props.events.length === 0 ? (
        <p>No events match.</p>
      ) : (
        <div class="table-scroll">
          <table class="list" id="events">
            <caption>Newest first</caption>
            <thead>
              <tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">Subject</th><th scope="col">Deliveries</th><th scope="col">Created</th></tr>
            </thead>
            <tbody>
              {props.events.map((e) => (
                <tr>
                  <td><a href={`${base}/events/${e.id}`}>{`#${e.id}`}</a></td>
                  <td><code class="event">{e.type}</code></td>
                  <td>{e.subject ? <code>{e.subject}</code> : <span class="muted">—</span>}</td>
                  <td><Statuses event={e} /></td>
                  <td><Time at={e.created_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.nextBefore !== undefined && (
        <nav aria-label="Pages"><a rel="next" href={`${base}/events?${next}`}>Older events</a></nav>
      )}
    </Layout>
  );
}
