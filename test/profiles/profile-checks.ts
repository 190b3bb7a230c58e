import { expect } from "vitest";
import type { Backend } from "../support/databases.js";
import { eventually, startReceiver, startTestWorker, type ReceivedRequest, type TestReceiver } from "../support/delivery.js";
import { startTestServer, type TestServer } from "../support/server.js";

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
 * under it every operation of `paths` — a path (all its operations) or one
 * operation as "METHOD /path" — and that `/docs` answers. An operation two
 * profiles share (`/hooks`) is filed under both.
 *
 * @example
 * await expectDocumented(server.url, "Kudu", ["/api/hooks", "DELETE /hooks/{id}"]);
 */
export async function expectDocumented(baseUrl: string, tag: string, paths: string[]): Promise<void> {
  const spec = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
    tags: { name: string }[];
    paths: Record<string, Record<string, { tags?: string[] }>>;
  };
  expect(spec.tags.map((t) => t.name)).toContain(tag);
  for (const entry of paths) {
    const [only, path] = entry.includes(" ") ? entry.split(" ") as [string, string] : [undefined, entry];
    const operations = Object.entries(spec.paths[path] ?? {}).filter(([method]) => method !== "parameters" && (!only || method === only.toLowerCase()));
    expect(operations.length, `${entry} in the spec`).toBeGreaterThan(0);
    for (const [method, operation] of operations) expect(operation.tags, `${method} ${path}`).toContain(tag);
  }
  const docs = await fetch(`${baseUrl}/docs`);
  expect(docs.status).toBe(200);
}

export interface ProfileFixture {
  server: TestServer;
  receiver: TestReceiver;
  close(): Promise<void>;
}

/**
 * What a profile test runs against: a Hookline API and a delivery worker over
 * a fresh database of `backend`, and a receiver on 127.0.0.1 standing in for
 * the seeds' callback URLs.
 *
 * @example
 * const { server, receiver } = await startProfileFixture(backend);
 */
export async function startProfileFixture(backend: Backend): Promise<ProfileFixture> {
  const database = await backend.create();
  const server = await startTestServer(database);
  const worker = await startTestWorker(database);
  const receiver = await startReceiver();
  return {
    server,
    receiver,
    async close() {
      await worker.stop();
      await receiver.close();
      await server.close();
      await database.dispose();
    },
  };
}
