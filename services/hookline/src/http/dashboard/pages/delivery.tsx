/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { DeliveryWithType } from "../../../store/deliveries.js";
import type { DeliveryAttemptRow, EventRow } from "../../../store/schema.js";
import { ActionForm, HeaderTable, Layout, Time, type PageSession } from "../layout.js";
import { DASHBOARD_PATH } from "../session.js";

/** A delivery: what was sent, each attempt with the receiver's answer, and Redeliver. */
export function DeliveryDetailPage(props: {
  delivery: DeliveryWithType;
  event: EventRow | undefined;
  attempts: DeliveryAttemptRow[];
  session: PageSession;
  notice?: string | undefined;
}) {
  const { delivery, attempts } = props;
  return (
    <Layout title={`Delivery #${delivery.id}`} session={props.session}>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <dl class="facts">
        <dt>Hook</dt><dd><a href={`${DASHBOARD_PATH}/hooks/${delivery.hook_id}`}>{`Hook ${delivery.hook_id}`}</a></dd>
        <dt>Event</dt><dd><code class="event">{delivery.event_type}</code> {`#${delivery.event_id}`}</dd>
        <dt>Status</dt><dd><span class={`badge ${delivery.status}`} id="delivery-status">{delivery.status}</span></dd>
        <dt>Attempts</dt><dd>{delivery.attempts}</dd>
        {delivery.status === "pending" && <><dt>Next attempt</dt><dd><Time at={delivery.next_attempt_at} /></dd></>}
        <dt>Created</dt><dd><Time at={delivery.created_at} /></dd>
      </dl>
      <ActionForm action={`${DASHBOARD_PATH}/deliveries/${delivery.id}/redeliver`} label="Redeliver" token={props.session.csrf_token} />
      <a class="refresh" href={`${DASHBOARD_PATH}/deliveries/${delivery.id}`}>Refresh</a>

      {props.event && (
        <section aria-labelledby="event-heading">
          <h2 id="event-heading">Event data</h2>
          <pre class="body"><code>{JSON.stringify(props.event.data, null, 2)}</code></pre>
        </section>
      )}

      <section aria-labelledby="attempts-heading">
        <h2 id="attempts-heading">Attempts</h2>
        {attempts.length === 0 && <p>No attempt yet.</p>}
        <ol class="attempts" reversed>
          {[...attempts].reverse().map((a, i) => (
            <li class="attempt" id={`attempt-${a.id}`}>
              <h3>Attempt {attempts.length - i}: <Time at={a.attempted_at} /></h3>
              <dl class="facts">
                <dt>Duration</dt><dd>{`${a.duration_ms} ms`}</dd>
                <dt>Response status</dt><dd class="response-status">{a.response_status ?? "none"}</dd>
                {a.error_kind && <><dt>Error</dt><dd>{`${a.error_kind}: ${a.error ?? ""}`}</dd></>}
              </dl>
              <HeaderTable caption="Request headers" headers={a.request_headers} />
              {a.request_body !== null && (
                <><h4>Request body</h4><pre class="body"><code>{a.request_body}</code></pre></>
              )}
              <HeaderTable caption="Response headers" headers={a.response_headers} />
              <h4>Response body</h4>
              {a.response_body && a.response_body_encoding === "base64" && (
                <p class="body-encoding">{`Not text (not UTF-8, or a NUL byte): ${Buffer.from(a.response_body, "base64").length} bytes, shown in base64.`}</p>
              )}
              {a.response_body ? <pre class="body response-body"><code>{a.response_body}</code></pre> : <p>Empty.</p>}
            </li>
          ))}
        </ol>
      </section>
    </Layout>
  );
}
