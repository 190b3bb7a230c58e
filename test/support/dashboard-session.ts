import { expect } from "vitest";

/** Something that answers requests like Hono's `app.request`. */
export interface RequestHandler {
  request(input: string, init?: RequestInit): Response | Promise<Response>;
}

/**
 * Form posts and a signed-in session against an app, through app.request():
 * `post` sends a urlencoded form with our own Origin (as a browser would),
 * `session(key)` signs in and reads the session's CSRF token from a page.
 */
export function dashboardClient(app: RequestHandler, origin: string, signInPath = "/dashboard/sign-in") {
  const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = { origin }) =>
    app.request(`${origin}${path}`, { method: "POST", body: new URLSearchParams(fields), headers });

  /** Signs in and returns the cookie and the session's CSRF token (read from a page's form). */
  async function session(key: string) {
    const res = await post(signInPath, { api_key: key });
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const signedIn = await withCookie(cookie, res.headers.get("location")!);
    expect(signedIn.csrf).toBeTruthy();
    return signedIn;
  }

  /** A session from a cookie: `get`, `post` with its CSRF token, and the token read from `landing`'s forms (empty when it has none: a read-only page). */
  async function withCookie(cookie: string, landing: string) {
    const page = await (await app.request(`${origin}${landing}`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    return {
      cookie,
      csrf,
      get: (path: string) => app.request(`${origin}${path}`, { headers: { cookie } }),
      post: (path: string, fields: Record<string, string> = {}) => post(path, { _csrf: csrf, ...fields }, { origin, cookie }),
    };
  }

  return { post, session, withCookie };
}
