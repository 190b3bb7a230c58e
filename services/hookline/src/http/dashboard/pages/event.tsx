/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { DeliveryWithType } from "../../../store/deliveries.js";
import type { EventRow, HookRow } from "../../../store/schema.js";
import { JsonBlock, Time } from "../components/common.js";
import { DeliveryTable } from "../components/delivery-table.js";
import { Layout, type PageSession } from "../layout.js";

/** One event: its facts, its data as published, and every delivery it made (one per hook it reached). */
export function EventPage(props: {
  event: EventRow;
  deliveries: DeliveryWithType[];
  hooks: Map<number, Pick<HookRow, "id" | "name" | "retries">>;
  session: PageSession;
}) {
  const { event, session } = props;
  return (
    <Layout title={`Event #${event.id}`} session={session}>
      <dl class="facts">
        <dt>Type</dt><dd><code class="event">{event.type}</code></dd>
        {event.subject_type && <><dt>Subject type</dt><dd><code>{event.subject_type}</code></dd></>}
        {event.subject && <><dt>Subject</dt><dd><code>{event.subject}</code></dd></>}
        <dt>Published</dt><dd><Time at={event.created_at} /></dd>
        <dt>Deliveries</dt><dd>{event.deliveries_count}</dd>
      </dl>
      <section aria-labelledby="data-heading">
        <h2 id="data-heading">Data</h2>
        <JsonBlock text={event.data} label="Event data" class="event-data" />
      </section>
      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">Deliveries</h2>
        {props.deliveries.length === 0 ? (
          <p>This event matched no hook.</p>
        ) : (
          <>
            <p class="hint">Each delivery's <code>webhook-id</code> is what its receiver saw and logged.</p>
            <DeliveryTable rows={props.deliveries} base={session.base} retries={(id) => props.hooks.get(id)?.retries} show="hook" hooks={props.hooks} />
          </>
        )}
      </section>
    </Layout>
  );
}
