/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { HookRow } from "../../../store/schema.js";
import { hookLabel, Time } from "../components/common.js";
import { ActionForm, Layout, type PageSession } from "../layout.js";

/** A hook's state in words: paused, failing (its last delivery gave up) or active. */
export function HookState(props: { hook: HookRow }) {
  if (!props.hook.is_active) return <span class="badge paused">Paused</span>;
  if (props.hook.failed) return <span class="badge failed">Failing</span>;
  return <span class="badge active">Active</span>;
}

/** Pause (is_active false: nothing is sent) or resume a hook; nothing in a read-only session. */
export function PauseResume(props: { hook: HookRow; session: PageSession }) {
  if (props.session.readOnly) return null;
  const verb = props.hook.is_active ? "pause" : "resume";
  return (
    <ActionForm
      action={`${props.session.base}/hooks/${props.hook.id}/${verb}`}
      label={props.hook.is_active ? "Pause" : "Resume"}
      token={props.session.csrf_token}
    />
  );
}

/** The account's hooks, oldest first, a page at a time. */
export function HooksPage(props: { hooks: HookRow[]; nextAfter: number | undefined; session: PageSession }) {
  const { base } = props.session;
  return (
    <Layout title="Hooks" session={props.session}>
      {!props.session.readOnly && <p><a class="button" href={`${base}/hooks/new`}>New hook</a></p>}
      {props.hooks.length === 0 ? (
        <p>No hooks yet.</p>
      ) : (
        <div class="table-scroll">
          <table class="list">
            <caption>Your hooks</caption>
            <thead>
              <tr>
                <th scope="col">Hook</th><th scope="col">Events</th><th scope="col">State</th>
                <th scope="col">Last delivery</th>{!props.session.readOnly && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {props.hooks.map((hook) => (
                <tr>
                  <td>
                    <a href={`${base}/hooks/${hook.id}`}>{hookLabel(hook)}</a>
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
                  {!props.session.readOnly && <td><PauseResume hook={hook} session={props.session} /></td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.nextAfter !== undefined && (
        <nav aria-label="Pages"><a rel="next" href={`${base}/hooks?after=${props.nextAfter}`}>More hooks</a></nav>
      )}
    </Layout>
  );
}
