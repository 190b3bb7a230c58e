import { kazooPath, type FetchFunction } from "./retry.js";

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
/** Statuses whose answers have no body by definition (RFC 9110 §15.3.5, §15.3.6, §15.4.5). */
const BODILESS = new Set([204, 205, 304]);
/** What a proxy in front of a server that answered unreadably would say. */
const UNREADABLE_SUCCESS_STATUS = 502;
const SNIPPET_LENGTH = 200;
/** Hookline's own API (also behind a base path), whose every answer body is JSON. */
const V1_PATH = /\/v1\//;

/**
 * Wraps `fetch` so every answer openapi-fetch sees is readable: an error
 * status whose body is not a JSON problem document (an empty 503 from a load
 * balancer, a proxy's HTML 502, JSON cut off mid-way) becomes an RFC 9457
 * problem with `type: "about:blank"`, the same status and a `detail` quoting
 * what came; so does an error whose JSON object is no problem document (a
 * gateway's `{"message":"Internal server error"}`), except on Kazoo's paths,
 * whose errors are Crossbar's envelope. A 2xx whose JSON cannot be read
 * (truncated, empty, HTML) becomes a 502 problem saying so, and under `/v1`,
 * where every success but 204 is a JSON object or array, so does any other
 * body (a proxy's empty 200 or `OK`); a body cut off by a closed connection
 * likewise.
 * A 2xx `text/event-stream` is passed through unread (`parseAs: "stream"`).
 * So a call returns `data` or a typed `error`, never
 * neither. Network errors still reject (with fetch's `TypeError`).
 *
 * @example
 * const fetch = withTypedAnswers(globalThis.fetch);
 */
export function withTypedAnswers(fetchImpl: FetchFunction): FetchFunction {
  return async (request, init) => {
    const response = await fetchImpl(request, init);
    if (BODILESS.has(response.status) || request.method === "HEAD") return response;
    const contentType = response.headers.get("content-type") ?? "";
    // A stream of server-sent events (a listen session's) never ends by itself: handed over unread.
    if (response.ok && /^text\/event-stream\s*(;|$)/i.test(contentType)) return response;
    let text: string;
    let problem: SyntheticProblem | undefined;
    try {
      text = await response.text();
      problem = response.ok ? unreadableSuccess(request, response, contentType, text) : unreadableError(request, response, contentType, text);
    } catch (error) {
      // The connection closed before the body ended: what came is not the answer.
      if (request.signal.aborted) throw error;
      text = "";
      problem = cutOff(response, error);
    }
    if (!problem) return rebuilt(response, text, response.status, response.headers);
    const headers = new Headers(response.headers);
    headers.set("content-type", "application/problem+json");
    headers.delete("content-length");
    headers.delete("content-encoding");
    return rebuilt(response, JSON.stringify(problem), problem.status, headers);
  };
}

interface SyntheticProblem {
  type: "about:blank";
  title: string;
  status: number;
  detail: string;
}

function unreadableError(request: Request, response: Response, contentType: string, text: string): SyntheticProblem | undefined {
  if (JSON_TYPE.test(contentType)) {
    const parsed = tryParse(text);
    // A problem document stands, and on Kazoo's paths any object (Crossbar's error envelope);
    // another JSON object (an API gateway's `{"message":…}`) has no status or title to go by.
    if (parsed.ok && (isProblem(parsed.value) || (isObject(parsed.value) && kazooPath(request) !== null))) return undefined;
  }
  return {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: `HTTP ${response.status} came with ${describe(contentType, text)} instead of a problem document.`,
  };
}

function unreadableSuccess(request: Request, response: Response, contentType: string, text: string): SyntheticProblem | undefined {
  const json = JSON_TYPE.test(contentType);
  if (V1_PATH.test(new URL(request.url).pathname)) {
    // Every /v1 success but 204 (and the event stream, passed on before) is a
    // JSON object or array: anything else would reach the caller as `data`
    // undefined or null with no `error`, or as a SyntaxError thrown by the parse.
    const parsed = tryParse(text);
    if (parsed.ok && typeof parsed.value === "object" && parsed.value !== null) return undefined;
    if (parsed.ok) return badGateway(response, `${describe(contentType, text)}, which is not the JSON object or array the operation answers`);
  } else {
    // Outside /v1 some successes are empty (Kudu's publish and delete) or text (/metrics).
    if (!json && !/^text\/html/i.test(contentType)) return undefined;
    if (json && tryParse(text).ok) return undefined;
  }
  return badGateway(response, `${describe(contentType, text)}, which is not readable JSON`);
}

/** What a gateway would answer for a 2xx whose body is not the answer: a 502 quoting what came. */
function badGateway(response: Response, what: string): SyntheticProblem {
  return { type: "about:blank", title: "Bad Gateway", status: UNREADABLE_SUCCESS_STATUS, detail: `HTTP ${response.status} came with ${what}.` };
}

function cutOff(response: Response, error: unknown): SyntheticProblem {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    type: "about:blank",
    title: response.ok ? "Bad Gateway" : response.statusText || `HTTP ${response.status}`,
    status: response.ok ? UNREADABLE_SUCCESS_STATUS : response.status,
    detail: `HTTP ${response.status} was cut off before its body ended (${reason}).`,
  };
}

function describe(contentType: string, text: string): string {
  if (text.length === 0) return "an empty body";
  const snippet = text.length > SNIPPET_LENGTH ? `${text.slice(0, SNIPPET_LENGTH)}…` : text;
  return `a ${contentType || "body without content type"} body (${text.length} characters: ${JSON.stringify(snippet)})`;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * A problem document by RFC 9457 §3.1: an object with at least one of its
 * members, each of its type (`type`, `title`, `detail` strings, an integer
 * `status`). Every member is optional there — an absent `type` means
 * "about:blank" — so a server's problem without `type` still stands; a
 * gateway's `{"message":…}` has none of them.
 */
function isProblem(value: unknown): boolean {
  if (!isObject(value)) return false;
  const { type, title, status, detail } = value as Record<string, unknown>;
  return typeof type === "string" || typeof title === "string" || typeof detail === "string" || Number.isInteger(status);
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A new Response with `body`, keeping the original's URL (paginate resolves links against it). */
function rebuilt(original: Response, body: string, status: number, headers: Headers): Response {
  const response = new Response(body, { status, statusText: status === original.status ? original.statusText : "", headers });
  Object.defineProperty(response, "url", { value: original.url });
  return response;
}
