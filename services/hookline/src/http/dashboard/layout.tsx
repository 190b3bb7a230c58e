/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { html } from "hono/html";
import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { FieldError } from "../problem.js";
import { CSRF_FIELD, DASHBOARD_PATH } from "./session.js";

/**
 * What every page knows about the signed-in session (nothing, on the sign-in
 * page): whose it is, the CSRF token for its forms, and the surface it is on —
 * the dashboard (an API key's session) or the portal (a platform's customer,
 * through a one-time link), which may be read-only, limited to some event
 * types and carry the platform's brand.
 */
export interface PageSession {
  account_name: string;
  csrf_token: string;
  /** Where this surface's pages live: `/dashboard` or `/portal`. */
  base: string;
  /** True in a portal session: no API keys, the platform's brand. */
  portal: boolean;
  /** A read-only portal session: no form that changes anything is shown (and none is accepted). */
  readOnly: boolean;
  /** The only event types this session sees and sends; undefined: every type. */
  eventTypes?: string[] | undefined;
  /** The platform's name and colour (`#rrggbb`) shown instead of Hookline's. */
  brand?: { name: string; color: string | null } | undefined;
}

/** Renders a page as a full HTML document with `status`. Pages are private: never cached. */
export function renderPage(c: Context, status: ContentfulStatusCode, page: Child) {
  c.header("cache-control", "no-store");
  return c.html(html`<!doctype html>${page}`, status);
}

/**
 * The shell of every page: a skip link, the navigation, one `h1`, the content.
 * No inline script or style, so the Content-Security-Policy can forbid both;
 * the one script (dashboard.js) only adds conveniences. In the portal the
 * platform's brand replaces Hookline's, and nothing links to what a portal
 * session cannot reach (API keys, sign-out, the API reference).
 */
export function Layout(props: { title: string; session?: PageSession | undefined; children?: Child }) {
  const session = props.session;
  const base = session?.base ?? DASHBOARD_PATH;
  const brand = session?.brand?.name ?? "Hookline";
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${brand}`}</title>
        <link rel="stylesheet" href={`${DASHBOARD_PATH}/dashboard.css`} />
        {session?.brand?.color && <link rel="stylesheet" href={`${base}/brand.css`} />}
        <script src={`${DASHBOARD_PATH}/dashboard.js`} defer />
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="site-header">
          <nav aria-label="Main">
            <a class="brand" href={`${base}/hooks`}>{brand}</a>
            {session && <a href={`${base}/hooks`}>Hooks</a>}
            {session && <a href={`${base}/events`}>Events</a>}
            {session && !session.portal && <a href={`${base}/keys`}>API keys</a>}
            {!session?.portal && <a href="/docs">API reference</a>}
          </nav>
          {session && !session.portal && (
            <form method="post" action={`${base}/sign-out`} class="sign-out">
              <span class="account">{session.account_name}</span>
              <CsrfField token={session.csrf_token} />
              <button type="submit">Sign out</button>
            </form>
          )}
          {session?.portal && (
            <p class="account">
              {session.account_name}
              {session.readOnly && <span class="badge paused">read-only</span>}
            </p>
          )}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** The hidden field every session form carries (see requireCsrfToken). */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={props.token} />;
}

/** A one-button POST form (pause, resume, redeliver, …). */
export function ActionForm(props: { action: string; label: string; token: string; class?: string }) {
  return (
    <form method="post" action={props.action} class="inline">
      <CsrfField token={props.token} />
      <button type="submit" class={props.class}>{props.label}</button>
    </form>
  );
}

/** A problem's detail and each bad field, as the API names them (`body.url: must …`). */
export function Problems(props: { detail?: string | undefined; errors?: FieldError[] | undefined }) {
  if (!props.detail && !props.errors?.length) return null;
  return (
    <div class="problem" role="alert">
      {props.detail && <p>{props.detail}</p>}
      {props.errors && props.errors.length > 0 && (
        <ul>
          {props.errors.map((e) => (
            <li>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Headers as a two-column table. */
export function HeaderTable(props: { caption: string; headers: Record<string, string> | null | undefined }) {
  const entries = Object.entries(props.headers ?? {});
  if (entries.length === 0) return <p>{props.caption}: none recorded.</p>;
  return (
    <table class="headers">
      <caption>{props.caption}</caption>
      <thead>
        <tr><th scope="col">Name</th><th scope="col">Value</th></tr>
      </thead>
      <tbody>
        {entries.map(([name, value]) => (
          <tr><th scope="row"><code>{name}</code></th><td><code>{value}</code></td></tr>
        ))}
      </tbody>
    </table>
  );
}
