/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { z } from "zod";
import { testEventExamples } from "../../events/test-event-types.js";
import { HookCreateSchema, HookIdParamsSchema, HookListQuerySchema } from "../hooks/hook-schemas.js";
import { withCustomDataText } from "../hooks/hook-wire.js";
import { fieldErrors, ProblemError, toProblemError } from "../problem.js";
import { pageSession, parseOrThrow, type DashboardDeps } from "./dashboard-deps.js";
import { renderPage } from "./layout.js";
import { HooksPage, NewHookPage, type NewHookValues } from "./pages/hooks.js";
import { SecretRevealPage } from "./pages/secret.js";
import { DASHBOARD_PATH, type DashboardEnv } from "./session.js";

type C = Context<DashboardEnv>;

const TestEventFormSchema = z.object({ type: z.string().min(1, "is required") });

/** Hook pages and actions: list, create, pause/resume, test event, secret rotation — all through HookService. */
export function createHookHandlers(deps: DashboardDeps) {
  const typeNames = deps.eventTypes.map((t) => t.name);
  const examples = [...testEventExamples(deps.eventTypes).keys()];
  const hookId = (c: C) => parseOrThrow(HookIdParamsSchema, c.req.param(), "path").id;

  const list = async (c: C) => {
    const query = parseOrThrow(HookListQuerySchema, c.req.query(), "query");
    const page = await deps.hooks.list(c.var.account, query);
    return renderPage(c, 200, <HooksPage hooks={page.hooks} nextAfter={page.nextAfter} session={pageSession(c)} />);
  };

  const newForm = (c: C) => renderPage(c, 200, <NewHookPage session={pageSession(c)} eventTypes={typeNames} />);

  // The form's values go through the API's HookCreate schema and HookService,
  // so a refusal names the same fields with the same words as POST /v1/hooks.
  const create = async (c: C) => {
    const form = await c.req.parseBody();
    const values: NewHookValues = { url: String(form.url ?? ""), events: String(form.events ?? ""), name: String(form.name ?? "") };
    const refuse = (problem: ProblemError) =>
      renderPage(
        c,
        problem.status,
        <NewHookPage session={pageSession(c)} eventTypes={typeNames} values={values} detail={problem.detail} errors={problem.errors} />,
      );
    const input = HookCreateSchema.safeParse({
      url: values.url,
      events: values.events.split(/[\s,]+/).filter(Boolean),
      ...(values.name.trim() ? { name: values.name.trim() } : {}),
    });
    if (!input.success) return refuse(new ProblemError("validation", "The request has invalid fields.", fieldErrors("body", input.error.issues)));
    try {
      // The form sends no custom_data; the service would take it as text.
      const hook = await deps.hooks.create(c.var.account, withCustomDataText(input.data, undefined));
      return renderPage(c, 201, <SecretRevealPage hook={hook} session={pageSession(c)} reason="created" />);
    } catch (error) {
      const problem = toProblemError(error);
      if (problem.status < 500) return refuse(problem);
      throw error;
    }
  };

  const setActive = (isActive: boolean) => async (c: C) => {
    const id = hookId(c);
    await deps.hooks.patch(c.var.account, id, { is_active: isActive });
    return c.redirect(`${DASHBOARD_PATH}/hooks/${id}`, 303);
  };

  const sendTestEvent = async (c: C) => {
    const id = hookId(c);
    const { type } = parseOrThrow(TestEventFormSchema, await c.req.parseBody(), "body");
    await deps.hooks.get(c.var.account, id);
    const sent = await deps.events.sendExample(c.var.account, id, type);
    return c.redirect(`${DASHBOARD_PATH}/hooks/${id}?sent=${sent.id}`, 303);
  };

  const rotateSecret = async (c: C) => {
    const hook = await deps.hooks.rotateSecret(c.var.account, hookId(c), undefined);
    return renderPage(c, 200, <SecretRevealPage hook={hook} session={pageSession(c)} reason="rotated" />);
  };

  return { list, newForm, create, pause: setActive(false), resume: setActive(true), sendTestEvent, rotateSecret, testEventTypes: examples };
}
