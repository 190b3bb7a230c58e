/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { HookRow } from "../../../store/schema.js";
import { hookLabel, Time } from "../components/common.js";
import { Layout, type PageSession } from "../layout.js";
import { DASHBOARD_PATH } from "../session.js";

/**
 * The one place a signing secret is rendered: right after it was made (a new
 * hook or a rotation). The page is never cached and is not shown again.
 */
export function SecretRevealPage(props: { hook: HookRow; session: PageSession; reason: "created" | "rotated" }) {
  const { hook } = props;
  const graceEnds = hook.previous_secret_expires_at;
  return (
    <Layout title={props.reason === "created" ? `${hookLabel(hook)} created` : `New secret for ${hookLabel(hook)}`} session={props.session}>
      <section aria-labelledby="secret-heading" class="reveal">
        <h2 id="secret-heading">Signing secret</h2>
        <p>Copy it now: it is shown only this once. Receivers verify signatures with it (Standard Webhooks).</p>
        <p><output id="new-secret" class="secret" for="secret-heading">{hook.secret}</output></p>
        {props.reason === "rotated" && graceEnds && (
          <p>Deliveries are also signed with the previous secret until <Time at={graceEnds} />, so receivers can switch over.</p>
        )}
      </section>
      <p><a href={`${DASHBOARD_PATH}/hooks/${hook.id}`}>{`Go to ${hookLabel(hook)}`}</a></p>
    </Layout>
  );
}
