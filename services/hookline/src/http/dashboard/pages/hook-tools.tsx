/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { HookRow } from "../../../store/schema.js";
import type { FieldError } from "../../problem.js";
import { CsrfField, Problems, type PageSession } from "../layout.js";

/** The test-event form's state: the chosen type, the payload text, and a refusal to show. */
export interface TestEventForm {
  types: string[];
  type: string;
  data: string;
  detail?: string | undefined;
  errors?: FieldError[] | undefined;
}

/**
 * Send a test event with a payload of your own: pick a type (Load example
 * fills the editor with the type's example from the spec), edit the JSON,
 * send. Two plain forms, so it works without script.
 */
export function TestEventSection(props: { hook: HookRow; session: PageSession; form: TestEventForm }) {
  const base = `${props.session.base}/hooks/${props.hook.id}`;
  const { form } = props;
  if (form.types.length === 0) return null;
  return (
    <section aria-labelledby="test-heading" id="test-event">
      <h2 id="test-heading">Send a test event</h2>
      <Problems detail={form.detail} errors={form.errors} />
      <form method="get" action={`${base}#test-event`} class="inline">
        <label for="test-type">Event type</label>
        <select id="test-type" name="test_type">
          {form.types.map((t) => <option value={t} selected={t === form.type}>{t}</option>)}
        </select>
        <button type="submit" class="secondary">Load example</button>
      </form>
      <form method="post" action={`${base}/test-event`} class="stacked wide">
        <CsrfField token={props.session.csrf_token} />
        <input type="hidden" name="type" value={form.type} />
        <label for="test-data">Payload (<code>data</code>) of <code class="event">{form.type}</code></label>
        <textarea id="test-data" name="data" rows={12} spellcheck={false} class="json-editor">{form.data}</textarea>
        <p class="hint">A JSON object; built-in types are checked against their schema in the spec, as a publish is.</p>
        <button type="submit">Send test event</button>
      </form>
    </section>
  );
}

/** The UTC time `hours` ago as a datetime-local value (`YYYY-MM-DDTHH:MM`). */
export function hoursAgoLocal(hours: number, now = new Date()): string {
  return new Date(now.getTime() - hours * 3_600_000).toISOString().slice(0, 16);
}

/** Recover: every failed delivery since a time is sent again with a fresh retry budget (the API's recover). */
export function RecoverSection(props: { hook: HookRow; session: PageSession }) {
  return (
    <section aria-labelledby="recover-heading">
      <h2 id="recover-heading">Recover failed deliveries</h2>
      <form method="post" action={`${props.session.base}/hooks/${props.hook.id}/recover`} class="inline">
        <CsrfField token={props.session.csrf_token} />
        <label for="recover-since">Resend everything that failed since (UTC)</label>
        <input id="recover-since" name="since" type="datetime-local" required value={hoursAgoLocal(24)} />
        <button type="submit">Recover</button>
      </form>
    </section>
  );
}
