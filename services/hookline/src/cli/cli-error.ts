/** A CLI command failed for a reason the user can fix: `message` is one line saying which setting or argument and what to do. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Turns an API problem answer into a CliError naming the status and the server's detail. */
export function apiFailure(what: string, response: Response, problem: unknown): CliError {
  const p = problem as { detail?: string; title?: string; errors?: Array<{ path: string; message: string }> } | undefined;
  const fields = p?.errors?.map((e) => `${e.path} ${e.message}`).join("; ");
  return new CliError(`${what} failed: ${response.status} ${p?.detail ?? p?.title ?? response.statusText}${fields ? ` (${fields})` : ""}`);
}
