import { serve, type ServerType } from "@hono/node-server";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerUnparsableRequests } from "./unparsable-requests.js";

/** Sends `bytes` on a new connection to 127.0.0.1:`port` and resolves with everything the server wrote before closing it. */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error("no answer within 5 s")));
  });
}

describe("answerUnparsableRequests", () => {
  let server: ServerType;
  let port: number;

  beforeAll(async () => {
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: () => new Response("ok"), hostname: "127.0.0.1", port: 0 }, () => resolve(s));
    });
    answerUnparsableRequests(server);
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ["a header line without a colon", "GET /v1/hooks HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"],
    ["a Content-Length that is no number", "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n{}"],
    ["a request line that is no request", "{\"type\":\"x\"} HTTP/1.1\r\n\r\n"],
  ])("answers %s with a 400 problem+json naming the parse error, not Node's bare 400", async (_, bytes) => {
    const answer = await exchange(port, bytes);
    const [head, body] = answer.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(JSON.parse(body!)).toMatchObject({ type: "https://hookline.dev/problems/malformed-request", status: 400, detail: expect.stringMatching(/^The request is not valid HTTP\/1\.1.*\(HPE_/) });
  });

  it("keeps Node's 431 for headers too large, and well-formed requests are served as before", async () => {
    expect(await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\nok$/);
  });
});
