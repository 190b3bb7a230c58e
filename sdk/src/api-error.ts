import type { Problem } from "./client.js";

/**
 * An error answer where the SDK cannot return `{ error }` (inside an async
 * iterator): carries the status and the server's problem document.
 *
 * @example
 * try { for await (const hook of paginate(hookline, "/v1/hooks")) {} }
 * catch (e) { if (e instanceof HooklineApiError) console.log(e.status, e.problem?.detail); }
 */
export class HooklineApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem ? `${status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ""}` : `HTTP ${status}`);
    this.name = "HooklineApiError";
  }
}
