/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { ApiKeyInfo, IssuedApiKey } from "../../../auth/key-service.js";
import { Time } from "../components/common.js";
import { ActionForm, CsrfField, Layout, type PageSession } from "../layout.js";

/** The account's active keys (never the keys themselves: only their first characters), with revoke and rotate. */
export function KeysPage(props: { keys: ApiKeyInfo[]; session: PageSession; notice?: string | undefined }) {
  const { base, csrf_token } = props.session;
  return (
    <Layout title="API keys" session={props.session}>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <p class="hint">Revoking or rotating the key you signed in with ends this session.</p>
      <div class="table-scroll">
        <table class="list" id="keys">
          <caption>Active keys, oldest first</caption>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Actions</th></tr>
          </thead>
          <tbody>
            {props.keys.map((k) => (
              <tr>
                <td>{k.name}</td>
                <td><code>{`${k.key_prefix}…`}</code></td>
                <td><Time at={new Date(k.created_at)} /></td>
                <td>{k.last_used_at ? <Time at={new Date(k.last_used_at)} /> : "Never"}</td>
                <td>
                  <ActionForm action={`${base}/keys/${k.id}/rotate`} label={`Rotate ${k.name}`} token={csrf_token} />
                  <ActionForm action={`${base}/keys/${k.id}/revoke`} label={`Revoke ${k.name}`} token={csrf_token} class="danger" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <section aria-labelledby="new-key-heading">
        <h2 id="new-key-heading">New key</h2>
        <form method="post" action={`${base}/keys`} class="inline">
          <CsrfField token={csrf_token} />
          <label for="key-name">Name</label>
          <input id="key-name" name="name" type="text" required maxlength={128} />
          <button type="submit">Create key</button>
        </form>
      </section>
    </Layout>
  );
}

/** The one place an API key is rendered: right after it was made. Only its SHA-256 is stored. */
export function KeyRevealPage(props: { apiKey: IssuedApiKey; session: PageSession; reason: "created" | "rotated" }) {
  return (
    <Layout title={props.reason === "created" ? `Key "${props.apiKey.name}" created` : `Key "${props.apiKey.name}" rotated`} session={props.session}>
      <section aria-labelledby="key-heading" class="reveal">
        <h2 id="key-heading">API key</h2>
        <p>Copy it now: it is shown only this once.{props.reason === "rotated" && " The key it replaces no longer works."}</p>
        <p><output id="new-key" class="secret">{props.apiKey.key}</output></p>
      </section>
      <p><a href={`${props.session.base}/keys`}>Back to API keys</a></p>
    </Layout>
  );
}
