/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { HookRow } from "../../../store/schema.js";
import type { FieldError } from "../../problem.js";
import { hookLabel } from "../components/common.js";
import type { HookFormValues } from "../hook-form.js";
import { CsrfField, Layout, Problems, type PageSession } from "../layout.js";

/** One labelled input with an optional hint; `id` is also the field's name. */
// Number fields carry no min/max: the server's refusal names the field and the API's bound.
function Field(props: { id: keyof HookFormValues; label: string; value: string; type?: string; required?: boolean; hint?: string }) {
  return (
    <>
      <label for={props.id}>{props.label}{!props.required && <span class="muted"> (optional)</span>}</label>
      <input
        id={props.id}
        name={props.id}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        aria-describedby={props.hint ? `${props.id}_hint` : undefined}
      />
      {props.hint && <p id={`${props.id}_hint`} class="hint">{props.hint}</p>}
    </>
  );
}

/**
 * The hook form, to create a hook or edit one (URL, events, filter, retries,
 * rate limit, in-flight cap); after a refusal it shows the API's field errors
 * and the values sent. Editing also offers Delete.
 */
export function HookFormPage(props: {
  session: PageSession;
  hook?: HookRow | undefined;
  eventTypes: string[];
  values: HookFormValues;
  detail?: string | undefined;
  errors?: FieldError[] | undefined;
}) {
  const { base, csrf_token } = props.session;
  const { hook, values } = props;
  const action = hook ? `${base}/hooks/${hook.id}/edit` : `${base}/hooks`;
  return (
    <Layout title={hook ? `Edit ${hookLabel(hook)}` : "New hook"} session={props.session}>
      <Problems detail={props.detail} errors={props.errors} />
      <form method="post" action={action} class="stacked">
        <CsrfField token={csrf_token} />
        <Field id="url" label="Callback URL" type="url" value={values.url} required />
        <label for="events">Events</label>
        <input id="events" name="events" type="text" required value={values.events} aria-describedby="events_hint" />
        <p id="events_hint" class="hint">
          Separated by commas or spaces.{" "}
          {props.session.eventTypes ? "This portal sends only: " : <><code>*</code> is every event, <code>build:*</code> a family. Built-in types: </>}
          {props.eventTypes.map((t) => <code class="event">{t}</code>)}
        </p>
        <Field id="name" label="Name" value={values.name} />
        <Field id="for_all" label="Only subject types" value={values.for_all} hint="Deliver only events whose subject_type is one of these (filter.for_all)." />
        <Field id="retries" label="Retries" type="number" value={values.retries} hint="Attempts after the first before a delivery fails." />
        <Field id="rate_limit" label="Rate limit" type="number" value={values.rate_limit} hint="Deliveries per second at most; empty: unlimited." />
        <Field id="max_in_flight" label="In-flight cap" type="number" value={values.max_in_flight} hint="Attempts in flight at once at most; empty: the server's default." />
        <button type="submit">{hook ? "Save changes" : "Create hook"}</button>
      </form>
      {hook && (
        <section aria-labelledby="delete-heading" class="danger-zone">
          <h2 id="delete-heading">Delete this hook</h2>
          <form method="post" action={`${base}/hooks/${hook.id}/delete`} class="stacked">
            <CsrfField token={csrf_token} />
            <label class="check">
              <input type="checkbox" name="confirm" value="yes" required /> Delete {hookLabel(hook)}: deliveries not yet sent are dropped.
            </label>
            <button type="submit" class="danger">Delete hook</button>
          </form>
        </section>
      )}
    </Layout>
  );
}
