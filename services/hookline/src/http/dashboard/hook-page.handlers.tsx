/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { decimalInteger } from "../decimal-integers.js";
import { z } from "zod";
import { prettyJson } from "../../json/pretty-json.js";
import * as deliveries from "../../store/deliveries.js";
import { hookHealth } from "../../store/hook-health.js";
import { recoverFailedDeliveries } from "../../store/recover-deliveries.js";
import { DeliveryListQuerySchema, HookRecoverSchema } from "../deliveries/delivery-schemas.js";
import { HookIdParamsSchema } from "../hooks/hook-schemas.js";
import { ProblemError, toProblemError } from "../problem.js";
import { pageSession, parseOrThrow, type DashboardDeps } from "./dashboard-deps.js";
import { sessionTestTypes } from "./hooks.handlers.js";
import { renderPage } from "./layout.js";
import { HookPage } from "./pages/hook.js";
import type { TestEventForm } from "./pages/hook-tools.js";
import { scopedTypes } from "./scope.js";
import type { DashboardEnv } from "./session.js";

type C = Context<DashboardEnv>;

/** The statuses the API's list filters by, so the dashboard's filter follows it. */
const STATUSES = DeliveryListQuerySchema.shape.status.unwrap().options;
const PAGE_SIZE = 20;

const HookPageQuerySchema = z.object({
  // An empty select ("Any") arrives as `status=`.
  status: z.union([z.enum(STATUSES), z.literal("").transform(() => undefined)]).optional(),
  before: decimalInteger(1, Number.MAX_SAFE_INTEGER).optional(),
  sent: decimalInteger(1, Number.MAX_SAFE_INTEGER).optional(),
  recovered: decimalInteger(0, Number.MAX_SAFE_INTEGER).optional(),
  saved: z.literal("1").optional(),
  test_type: z.string().max(128).optional(),
});

/** A hook's page (settings, health, deliveries), its test event with a payload of one's own, and recover. */
export function createHookPageHandlers(deps: DashboardDeps) {
  const db = deps.store.db;
  const hookId = (c: C) => parseOrThrow(HookIdParamsSchema, c.req.param(), "path").id;

  /** The test-event form: the chosen type (first offered by default) with its example as the starting payload. */
  function testEventForm(c: C, type: string | undefined): TestEventForm {
    const types = sessionTestTypes(deps, c.var.page.eventTypes);
    const chosen = type && types.has(type) ? type : ([...types.keys()][0] ?? "");
    return { types: [...types.keys()], type: chosen, data: prettyJson(JSON.stringify(types.get(chosen) ?? {})) };
  }

  async function render(c: C, status: 200 | 400 | 422, testEvent?: TestEventForm) {
    const id = hookId(c);
    const query = parseOrThrow(HookPageQuerySchema, c.req.query(), "query");
    const hook = await deps.hooks.get(c.var.account, id);
    const [rows, health] = await Promise.all([
      deliveries.listHookDeliveries(db, id, { before: query.before, status: query.status, types: scopedTypes(c.var.page) }, PAGE_SIZE + 1),
      hookHealth(db, id),
    ]);
    const page = rows.slice(0, PAGE_SIZE);
    const nextBefore = rows.length > PAGE_SIZE ? page[page.length - 1]!.id : undefined;
    const notice =
      query.sent !== undefined ? `Test event #${query.sent} sent to this hook.`
      : query.recovered !== undefined ? `Recover: ${query.recovered} failed deliveries will be sent again.`
      : query.saved ? "Changes saved."
      : undefined;
    return renderPage(
      c,
      status,
      <HookPage
        hook={hook}
        deliveries={{ rows: page, status: query.status, nextBefore, statuses: STATUSES }}
        health={{ ...health, breakerThreshold: deps.config.delivery.breakerThreshold }}
        testEvent={testEvent ?? testEventForm(c, query.test_type)}
        session={pageSession(c)}
        notice={notice}
      />,
    );
  }

  const hookPage = (c: C) => render(c, 200);

  /**
   * Sends the form's payload as a test event to this hook alone, through the
   * publish service (the type's schema and the reserved types apply as on
   * publish). A refusal is shown on the form with the payload as typed.
   */
  const sendTestEvent = async (c: C) => {
    const id = hookId(c);
    const body = await c.req.parseBody();
    const type = typeof body.type === "string" ? body.type : "";
    const dataText = typeof body.data === "string" ? body.data.trim() : "";
    const form: TestEventForm = { ...testEventForm(c, type), type, data: dataText };
    const refuse = (problem: ProblemError) => render(c, problem.status as 400, { ...form, detail: problem.detail, errors: problem.errors });
    if (!form.types.includes(type)) return refuse(new ProblemError("validation", "The request has invalid fields.", [{ path: "body.type", message: `must be one of: ${form.types.join(", ")}` }]));
    let data: unknown;
    try {
      data = JSON.parse(dataText);
    } catch (error) {
      return refuse(new ProblemError("validation", "The request has invalid fields.", [{ path: "body.data", message: `is not valid JSON: ${(error as Error).message}` }]));
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      return refuse(new ProblemError("validation", "The request has invalid fields.", [{ path: "body.data", message: "must be a JSON object" }]));
    }
    await deps.hooks.get(c.var.account, id);
    try {
      const sent = await deps.events.sendExample(c.var.account, id, type, { data: data as Record<string, unknown>, dataText });
      return c.redirect(`${c.var.page.base}/hooks/${id}?${new URLSearchParams({ sent: String(sent.id), test_type: type })}`, 303);
    } catch (error) {
      const problem = toProblemError(error);
      if (problem.status < 500) return refuse(problem);
      throw error;
    }
  };

  /** Recover, as `POST /v1/hooks/{id}/recover`: the form's time is UTC (a datetime-local field has no zone). */
  const recover = async (c: C) => {
    const id = hookId(c);
    const since = String((await c.req.parseBody()).since ?? "");
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(since) ? `${since.length === 16 ? `${since}:00` : since}Z` : since;
    const input = parseOrThrow(HookRecoverSchema, { since: iso }, "body");
    await deps.hooks.get(c.var.account, id);
    const recovered = await recoverFailedDeliveries(db, id, new Date(input.since));
    return c.redirect(`${c.var.page.base}/hooks/${id}?recovered=${recovered}`, 303);
  };

  return { hookPage, sendTestEvent, recover };
}
