/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { DeliveryWithType } from "../../../store/deliveries.js";
import type { DeliveryAttemptRow, EventRow, HookRow } from "../../../store/schema.js";
import { attemptLine, DeliveryStatus, HookLink, JsonBlock, Time } from "../components/common.js";
import { ActionForm, HeaderTable, Layout, type PageSession } from "../layout.js";

/** A delivery: what was sent, each attempt with the receiver's answer, and Redeliver. */
export function DeliveryDetailPage(props: {
  delivery: DeliveryWithType;
  /** Undefined when the hook has been deleted since. */
  hook: HookRow | undefined;
  event: EventRow | undefined;
  attempts: DeliveryAttemptRow[];
  session: PageSession;
  notice?: string | undefined;
}) {
  const { delivery, attempts } = props;
  const { base } = props.session;
  return (
    <Layout title={`Delivery #${delivery.id}`} session={props.session}>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <dl class="facts">
        <dt>Hook</dt><dd><HookLink hookId={delivery.hook_id} hook={props.hook} base={base} /></dd>
        <dt>Event</dt>
        <dd><code class="event">{delivery.event_type}</code> <a href={`${base}/events/${delivery.event_id}`}>{`#${delivery.event_id}`}</a></dd>
        <dt>webhook-id</dt><dd><code>{delivery.message_id}</code></dd>
        <dt>Status</dt><dd id="delivery-status"><DeliveryStatus delivery={delivery} /></dd>
        <dt>Attempts</dt><dd class="attempt-line">{attemptLine(delivery, props.hook?.retries)}</dd>
        <dt>Created</dt><dd><Time at={delivery.created_at} /></dd>
      </dl>
      {!props.session.readOnly && <ActionForm action={`${base}/deliveries/${delivery.id}/redeliver`} label="Redeliver" token={props.session.csrf_token} />}
      <a class="refresh" href={`${base}/deliveries/${delivery.id}`}>Refresh</a>

      {props.event && (
        <section aria-labelledby="event-heading">
          <h2 id="event-heading">Event data</h2>
          <JsonBlock text={props.event.data} label="Event data" class="event-data" />
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
                <><h4>Request body</h4><JsonBlock text={a.request_body} label="Request body" /></>
              )}
              <HeaderTable caption="Response headers" headers={a.response_headers} />
              <h4>Response body</h4>
              {a.response_body && a.response_body_encoding === "base64" && (
                <p class="body-encoding">{`Not text (not UTF-8, or a NUL byte): ${Buffer.from(a.response_body, "base64").length} bytes, shown in base64.`}</p>
              )}
              {a.response_body ? <JsonBlock text={a.response_body} label="Response body" class="response-body" /> : <p>Empty.</p>}
            </li>
          ))}
        </ol>
      </section>
    </Layout>
  );
}
