/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { DeliveryWithType } from "../../../store/deliveries.js";
import type { HookRow } from "../../../store/schema.js";
import { attemptLine, DeliveryStatus, HookLink, Time } from "./common.js";

/**
 * Deliveries as a table, newest first: on a hook's page each row names its
 * event; on an event's page, its hook (by name, as the hook list does).
 */
export function DeliveryTable(props: {
  rows: DeliveryWithType[];
  base: string;
  /** The hook's `retries`, for "attempt 2 of 6"; undefined when the hook is gone. */
  retries: (hookId: number) => number | undefined;
  show: "event" | "hook";
  hooks?: Map<number, Pick<HookRow, "id" | "name">>;
}) {
  return (
    <div class="table-scroll">
      <table class="list" id="deliveries">
        <caption>Newest first</caption>
        <thead>
          <tr>
            <th scope="col">Delivery</th><th scope="col">{props.show === "event" ? "Event" : "Hook"}</th><th scope="col">Status</th>
            <th scope="col">Attempts</th><th scope="col">Last response</th><th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((d) => (
            <tr>
              <td><a href={`${props.base}/deliveries/${d.id}`}>{`#${d.id}`}</a></td>
              <td>
                {props.show === "event" ? (
                  <a href={`${props.base}/events/${d.event_id}`}><code class="event">{d.event_type}</code></a>
                ) : (
                  <HookLink hookId={d.hook_id} hook={props.hooks?.get(d.hook_id)} base={props.base} />
                )}
              </td>
              <td><DeliveryStatus delivery={d} /></td>
              <td class="attempt-line">{attemptLine(d, props.retries(d.hook_id))}</td>
              <td>{d.last_response_status ?? d.last_error ?? "—"}</td>
              <td><Time at={d.created_at} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
