import { expect } from "vitest";
import { eventually, type ReceivedRequest, type TestReceiver } from "../support/delivery.js";

/**
 * The requests a receiver got that match `where`, once there is at least one
 * (waits at most 10 s).
 *
 * @example
 * const [call] = await received(receiver, (r) => r.headers["hookline-event-type"] === "PostDeployment");
 */
export function received(receiver: TestReceiver, where: (request: ReceivedRequest) => boolean): Promise<ReceivedRequest[]> {
  return eventually(async () => {
    const matching = receiver.requests.filter(where);
    return matching.length > 0 ? matching : undefined;
  }, 10_000, "a matching request");
}

/**
 * Checks that the served spec (which `/docs` renders) lists `tag` and files
 * every operation of `paths` under it, and that `/docs` answers.
 *
 * @example
 * await expectDocumented(server.url, "Kudu", ["/api/hooks", "/api/hooks/{id}"]);
 */
export async function expectDocumented(baseUrl: string, tag: string, paths: string[]): Promise<void> {
  const spec = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
    tags: { name: string }[];
    paths: Record<string, Record<string, { tags?: string[] }>>;
  };
  expect(spec.tags.map((t) => t.name)).toContain(tag);
  for (const path of paths) {
    const operations = Object.entries(spec.paths[path] ?? {}).filter(([method]) => method !== "parameters");
    expect(operations.length, `${path} in the spec`).toBeGreaterThan(0);
    for (const [method, operation] of operations) expect(operation.tags, `${method} ${path}`).toEqual([tag]);
  }
  const docs = await fetch(`${baseUrl}/docs`);
  expect(docs.status).toBe(200);
}
