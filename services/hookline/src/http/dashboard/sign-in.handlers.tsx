/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { ProblemError } from "../problem.js";
import type { DashboardDeps } from "./dashboard-deps.js";
import { renderPage } from "./layout.js";
import { SignInPage } from "./pages/sign-in.js";
import { DASHBOARD_PATH, signIn, signOut, type DashboardEnv } from "./session.js";

/** Sign-in page, sign-in with an API key, sign-out. */
export function createSignInHandlers(deps: DashboardDeps) {
  const form = (c: Context) => renderPage(c, 200, <SignInPage />);

  const submit = async (c: Context) => {
    // Sign-in tries API keys: the same per-address limit on failures as the API (429 before any lookup).
    deps.limits.checkAddress(c);
    const body = await c.req.parseBody();
    const apiKey = typeof body.api_key === "string" ? body.api_key.trim() : "";
    if (!apiKey) {
      return renderPage(c, 400, <SignInPage detail="The request has invalid fields." errors={[{ path: "body.api_key", message: "is required" }]} />);
    }
    try {
      await signIn(c, deps.store, apiKey, deps.config.publicUrl);
    } catch (error) {
      if (error instanceof ProblemError && error.kind === "unauthorized") {
        for (const [name, value] of Object.entries(deps.limits.countFailure(c))) c.header(name, value);
        return renderPage(c, 401, <SignInPage detail={error.detail} />);
      }
      throw error;
    }
    return c.redirect(`${DASHBOARD_PATH}/hooks`, 303);
  };

  const leave = async (c: Context<DashboardEnv>) => {
    await signOut(c, deps.store);
    return c.redirect(`${DASHBOARD_PATH}/sign-in`, 303);
  };

  return { form, submit, leave };
}
