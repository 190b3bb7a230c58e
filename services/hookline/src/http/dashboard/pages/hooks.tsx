/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { HookRow } from "../../../store/schema.js";
import type { FieldError } from "../../problem.js";
import { hookLabel, Time } from "../components.js";
import { ActionForm, CsrfField, Layout, Problems, type PageSession } from "../layout.js";
import { DASHBOARD_PATH } from "../session.js";

/** A hook's state in words: paused, failing (its last delivery gave up) or active. */
export function HookState(props: { hook: HookRow }) {
  if (!props.hook.is_active) return <span class="badge paused">Paused</span>;
  if (props.hook.failed) return <span class="badge failed">Failing</span>;
  return <span class="badge active">Active</span>;
}

/** Pause (is_active false: nothing is sent) or resume a hook. */
export function PauseResume(props: { hook: HookRow; token: string }) {
  const verb = props.hook.is_active ? "pause" : "resume";
  return (
    <ActionForm
      action={`${DASHBOARD_PATH}/hooks/${props.hook.id}/${verb}`}
      label={props.hook.is_active ? "Pause" : "Resume"}
      token={props.token}
    />
  );
}

/** The account's hooks, oldest first, a page at a time. */
export function HooksPage(props: { hooks: HookRow[]; nextAfter: number | undefined; session: PageSession }) {
  const token = props.session.csrf_token;
  return (
    <Layout title="Hooks" session={props.session}>
      <p><a class="button" href={`${DASHBOARD_PATH}/hooks/new`}>New hook</a></p>
      {props.hooks.length === 0 ? (
        <p>No hooks yet.</p>
      ) : (
        <table class="list">
          <caption>Your hooks</caption>
          <thead>
            <tr>
              <th scope="col">Hook</th><th scope="col">Events</th><th scope="col">State</th>
              <th scope="col">Last delivery</th><th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {props.hooks.map((hook) => (
              <tr>
                <td>
                  <a href={`${DASHBOARD_PATH}/hooks/${hook.id}`}>{hookLabel(hook)}</a>
                  <br /><code class="url">{hook.url}</code>
                </td>
                <td>{hook.events.map((e) => <code class="event">{e}</code>)}</td>
                <td><HookState hook={hook} /></td>
                <td>
                  {hook.last_datetime ? (
                    <>
                      <Time at={hook.last_datetime} /><br />
                      {hook.last_status} {hook.last_reason && <span class="muted">({hook.last_reason})</span>}
                    </>
                  ) : (
                    "Never"
                  )}
                </td>
                <td><PauseResume hook={hook} token={token} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.nextAfter !== undefined && (
        <nav aria-label="Pages"><a rel="next" href={`${DASHBOARD_PATH}/hooks?after=${props.nextAfter}`}>More hooks</a></nav>
      )}
    </Layout>
  );
}

/** What the new-hook form was sent, to fill it again after an error. */
export interface NewHookValues {
  url: string;
  events: string;
  name: string;
}

/** The new-hook form; after a refusal it shows the API's field errors and the values sent. */
export function NewHookPage(props: {
  session: PageSession;
  eventTypes: string[];
  values?: NewHookValues;
  detail?: string | undefined;
  errors?: FieldError[] | undefined;
}) {
  const values = props.values ?? { url: "", events: "*", name: "" };
  return (
    <Layout title="New hook" session={props.session}>
      <Problems detail={props.detail} errors={props.errors} />
      <form method="post" action={`${DASHBOARD_PATH}/hooks`} class="stacked">
        <CsrfField token={props.session.csrf_token} />
        <label for="url">Callback URL</label>
        <input id="url" name="url" type="url" required value={values.url} placeholder="https://example.com/webhooks" />
        <label for="events">Events</label>
        <input id="events" name="events" type="text" required value={values.events} aria-describedby="events_hint" />
        <p id="events_hint" class="hint">
          Separated by commas or spaces. <code>*</code> is every event, <code>build:*</code> a family. Built-in types:{" "}
          {props.eventTypes.map((t) => <code class="event">{t}</code>)}
        </p>
        <label for="name">Name <span class="muted">(optional)</span></label>
        <input id="name" name="name" type="text" value={values.name} />
        <button type="submit">Create hook</button>
      </form>
    </Layout>
  );
}
