/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { isReservedEventType } from "../../events/reserved-types.js";
import { testEventExamples } from "../../events/test-event-types.js";
import type { HookRow } from "../../store/schema.js";
import { HookCreateSchema, HookIdParamsSchema, HookListQuerySchema, HookPatchSchema } from "../hooks/hook-schemas.js";
import { withCustomDataText } from "../hooks/hook-wire.js";
import { fieldErrors, ProblemError, toProblemError } from "../problem.js";
import { pageSession, parseOrThrow, type DashboardDeps } from "./dashboard-deps.js";
import { hookBodyOf, hookFormValues, hookFormValuesOf, type HookFormValues } from "./hook-form.js";
import { renderPage } from "./layout.js";
import { HookFormPage } from "./pages/hook-form.js";
import { HooksPage } from "./pages/hooks.js";
import { SecretRevealPage } from "./pages/secret.js";
import { eventsOutOfScope, hookInScope } from "./scope.js";
import type { DashboardEnv } from "./session.js";

type C = Context<DashboardEnv>;

/** Hook pages and actions: list, create, edit, delete, pause/resume, secret rotation — all through HookService. */
export function createHookHandlers(deps: DashboardDeps) {
  const allTypes = deps.eventTypes.map((t) => t.name);
  const hookId = (c: C) => parseOrThrow(HookIdParamsSchema, c.req.param(), "path").id;
  const typeNames = (c: C) => c.var.page.eventTypes ?? allTypes;

  const list = async (c: C) => {
    const query = parseOrThrow(HookListQuerySchema, c.req.query(), "query");
    const page = await deps.hooks.list(c.var.account, query);
    const hooks = page.hooks.filter((hook) => hookInScope(c.var.page, hook.events));
    return renderPage(c, 200, <HooksPage hooks={hooks} nextAfter={page.nextAfter} session={pageSession(c)} />);
  };

  const form = (c: C, status: 200 | 201 | 400 | 404 | 409 | 422, values: HookFormValues, hook?: HookRow, problem?: ProblemError) =>
    renderPage(
      c,
      status,
      <HookFormPage session={pageSession(c)} hook={hook} eventTypes={typeNames(c)} values={values} detail={problem?.detail} errors={problem?.errors} />,
    );

  const newForm = (c: C) => form(c, 200, { ...hookFormValuesOf(undefined), events: c.var.page.eventTypes?.join(", ") ?? "*" });
  const editForm = async (c: C) => {
    const hook = await deps.hooks.get(c.var.account, hookId(c));
    return form(c, 200, hookFormValuesOf(hook), hook);
  };

  /**
   * Create and edit run the form's values through the API's own schema and
   * HookService, so a refusal names the same fields with the same words as
   * `POST /v1/hooks` and `PATCH /v1/hooks/{id}`, and is shown on the form.
   */
  async function save(c: C, hook: HookRow | undefined) {
    const values = hookFormValues(await c.req.parseBody());
    const refuse = (problem: ProblemError) => form(c, problem.status as 400, values, hook, problem);
    const body = hookBodyOf(values, hook ? "edit" : "create");
    const input = (hook ? HookPatchSchema : HookCreateSchema).safeParse(body);
    if (!input.success) return refuse(new ProblemError("validation", "The request has invalid fields.", fieldErrors("body", input.error.issues)));
    const scope = input.data.events && eventsOutOfScope(c.var.page, input.data.events);
    if (scope) return refuse(new ProblemError("validation", "The request has invalid fields.", scope));
    try {
      // The form sends no custom_data; the service would take it as text.
      if (hook) {
        await deps.hooks.patch(c.var.account, hook.id, withCustomDataText(input.data, undefined));
        return c.redirect(`${c.var.page.base}/hooks/${hook.id}?saved=1`, 303);
      }
      const created = await deps.hooks.create(c.var.account, withCustomDataText(HookCreateSchema.parse(input.data), undefined));
      return renderPage(c, 201, <SecretRevealPage hook={created} session={pageSession(c)} reason="created" />);
    } catch (error) {
      const problem = toProblemError(error);
      if (problem.status < 500) return refuse(problem);
      throw error;
    }
  }

  const create = (c: C) => save(c, undefined);
  const update = async (c: C) => save(c, await deps.hooks.get(c.var.account, hookId(c)));

  const remove = async (c: C) => {
    const id = hookId(c);
    const body = await c.req.parseBody();
    if (body.confirm !== "yes") throw new ProblemError("validation", "Confirm the deletion.", [{ path: "body.confirm", message: "must be checked" }]);
    await deps.hooks.remove(c.var.account, id);
    return c.redirect(`${c.var.page.base}/hooks?deleted=${id}`, 303);
  };

  const setActive = (isActive: boolean) => async (c: C) => {
    const id = hookId(c);
    await deps.hooks.patch(c.var.account, id, { is_active: isActive });
    return c.redirect(`${c.var.page.base}/hooks/${id}`, 303);
  };

  const rotateSecret = async (c: C) => {
    const hook = await deps.hooks.rotateSecret(c.var.account, hookId(c), undefined);
    return renderPage(c, 200, <SecretRevealPage hook={hook} session={pageSession(c)} reason="rotated" />);
  };

  return { list, newForm, create, editForm, update, remove, pause: setActive(false), resume: setActive(true), rotateSecret };
}

/**
 * The test event types a session may send, each with the data to start from:
 * the spec's publishable examples; in a session limited to some types, those
 * types (with their example when the spec has one, else `{}`).
 */
export function sessionTestTypes(deps: DashboardDeps, eventTypes: string[] | undefined): Map<string, Record<string, unknown>> {
  const examples = testEventExamples(deps.eventTypes);
  if (eventTypes === undefined) return examples;
  return new Map(eventTypes.filter((name) => !isReservedEventType(name)).map((name) => [name, examples.get(name) ?? {}]));
}
