/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { FieldError } from "../../problem.js";
import { Layout, Problems } from "../layout.js";
import { DASHBOARD_PATH } from "../session.js";

/** The sign-in form: one API key field. The key is never echoed back, even after an error. */
export function SignInPage(props: { detail?: string | undefined; errors?: FieldError[] | undefined }) {
  return (
    <Layout title="Sign in">
      <p>Sign in with one of your account's API keys. The dashboard shows that account only.</p>
      <Problems detail={props.detail} errors={props.errors} />
      <form method="post" action={`${DASHBOARD_PATH}/sign-in`} class="stacked">
        <label for="api_key">API key</label>
        <input id="api_key" name="api_key" type="password" required autocomplete="off" spellcheck={false} aria-describedby="api_key_hint" />
        <p id="api_key_hint" class="hint">Starts with <code>hkl_</code>. It is checked, not stored in the browser.</p>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}
