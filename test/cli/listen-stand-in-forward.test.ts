import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RESPONSE_BODY_CAP_BYTES } from "../../services/hookline/src/delivery/transport.js";
import { eventually } from "../support/delivery.js";
import { runListen, startLocalApp } from "../support/listen-cli.js";
import {
  deliveryMessage,
  problem,
  STAND_IN_SECRET,
  sendDelivery,
  startListenStandIn,
  untilClientLeaves,
} from "../support/listen-stand-in.js";

/**
 * `hookline listen` forwarding against a scripted stand-in of the server
 * (test/support/listen-stand-in.ts): what it sends the local app, what it
 * reports for each answer or failure, what it prints, and a report that
 * cannot land. Quick enough to run for each mutant of listen-command.ts;
 * the same against the real server is listen-in-process.test.ts.
 */

const KEY = "hk_stand_in";
const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("hookline listen forwarding (stand-in server)", () => {
  it("forwards a POST with its headers and body and a GET without one, skips other events, and reports each answer as it came", async () => {
    const bytes = Buffer.concat([Buffer.from([0x6f, 0x6b, 0x00, 0xff]), Buffer.alloc(RESPONSE_BODY_CAP_BYTES, 0x61)]);
    const answers: Array<{ status: number; headers: Record<string, string>; body: Buffer | string }> = [
      { status: 201, headers: { "x-app": "yes" }, body: bytes },
      { status: 302, headers: { location: "/elsewhere" }, body: "moved" },
    ];
    const app = await startLocalApp((n) => answers[n]!);
    closing.push(app.close);
    const post = deliveryMessage();
    const get = deliveryMessage({
      delivery_id: 42,
      message_id: "msg_stand_in_42",
      event_type: "ping",
      method: "GET",
      headers: { "x-one": "1" },
      body: "",
    });
    let sentAt = 0;
    const standIn = await startListenStandIn({
      stream: () => async (sse) => {
        // An event type a newer server may add: not a delivery, not an error.
        await sse.writeSSE({ event: "notice", data: "not json" });
        sentAt = Date.now();
        await sendDelivery(sse, post);
        await sendDelivery(sse, get);
        await untilClientLeaves(sse);
      },
    });
    closing.push(standIn.close);
    const cli = runListen(standIn, KEY, { "forward-to": app.url });
    closing.push(async () => void (await cli.stop()));

    await eventually(async () => (standIn.seen.reports.length === 2 ? true : undefined), 5_000, "two reports");
    const reportedBy = Date.now();
    expect(standIn.seen.creates).toEqual([{ authorization: `Bearer ${KEY}`, body: { forward_to: app.url } }]);
    expect(cli.lines.slice(0, 2)).toEqual([
      `Ready: forwarding * to ${app.url} (listen session 7, through ${standIn.url}). Ctrl-C to stop.`,
      `Your webhook signing secret is ${STAND_IN_SECRET}`,
    ]);
    expect(app.arrivals.map((a) => [a.method, a.url, a.body])).toEqual([
      ["POST", "/hooks/in", '{"n":1}'],
      ["GET", "/hooks/in", ""],
    ]);
    expect(app.arrivals[0]!.headers).toMatchObject(post.headers);
    expect(app.arrivals[1]!.headers).toMatchObject({ "x-one": "1" });

    const [created, moved] = standIn.seen.reports as [Record<string, unknown>, Record<string, unknown>];
    expect(created).toEqual({
      delivery_id: 41,
      duration_ms: expect.any(Number),
      status: 201,
      headers: expect.objectContaining({ "x-app": "yes", "transfer-encoding": "chunked" }),
      // The exact bytes (a NUL, not UTF-8), up to what a report may carry.
      body_base64: bytes.subarray(0, RESPONSE_BODY_CAP_BYTES).toString("base64"),
    });
    expect(moved).toEqual({
      delivery_id: 42,
      duration_ms: expect.any(Number),
      status: 302,
      headers: expect.objectContaining({ location: "/elsewhere" }),
      body_base64: Buffer.from("moved").toString("base64"),
    });
    // Each took no longer than from the stream's sending to the report's landing.
    expect(created.duration_ms as number).toBeLessThanOrEqual(reportedBy - sentAt + 1);

    const printed = cli.lines.slice(2);
    expect(printed).toHaveLength(2);
    expect(printed[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}build:done {2}msg_stand_in_41 {2}201 {2}\d+ ms$/);
    expect(printed[1]).toMatch(/^\S+Z {2}ping {2}msg_stand_in_42 {2}302 {2}\d+ ms$/);
    expect(cli.errors).toEqual([]);
    expect(await cli.stop()).toBeUndefined();
    expect(cli.lines.at(-1)).toBe("Listen session 7 removed.");
  });

  it("reports a local app it cannot reach and a request the HTTP client refuses to make as errors; a report lost or refused is said to be sent again", async () => {
    const port = await closedPort();
    const name = `x-${"n".repeat(1100)} bad`;
    const messages = [
      deliveryMessage({ delivery_id: 51, message_id: "msg_51" }),
      // A header name the HTTP client (the worker's transport) refuses: the request is never made.
      deliveryMessage({ delivery_id: 52, message_id: "msg_52", headers: { [name]: "v" } }),
      deliveryMessage({ delivery_id: 53, message_id: "msg_53" }),
      deliveryMessage({ delivery_id: 54, message_id: "msg_54" }),
    ];
    const standIn = await startListenStandIn({
      stream: () => async (sse) => {
        for (const message of messages) await sendDelivery(sse, message);
        await untilClientLeaves(sse);
      },
      result: (c, report) => {
        // 53's report: the connection drops before any answer. 54's: the server no longer waits for it.
        if (report.delivery_id === 53) c.env.incoming.socket.destroy();
        if (report.delivery_id === 54) return problem(c, 404, "Delivery 54 is not waiting for a result.");
        return c.body(null, 204);
      },
    });
    closing.push(standIn.close);
    const cli = runListen(standIn, KEY, { "forward-to": `http://127.0.0.1:${port}/hooks` });
    closing.push(async () => void (await cli.stop()));

    await eventually(async () => (cli.errors.length === 2 ? true : undefined), 5_000, "two reports not landed");
    expect(cli.errors).toEqual([
      "Could not report delivery 53's answer; Hookline sends it again.",
      "Could not report delivery 54's answer; Hookline sends it again.",
    ]);
    const [unreachable, refused] = standIn.seen.reports as [Record<string, unknown>, Record<string, unknown>];
    const connectError = `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}`;
    expect(unreachable).toEqual({ delivery_id: 51, duration_ms: expect.any(Number), status: null, error: connectError });
    expect(refused).toEqual({ delivery_id: 52, duration_ms: expect.any(Number), status: null, error: expect.any(String) });
    expect(refused.error).toBe("invalid header key");
    expect(cli.lines.find((line) => line.includes("msg_51"))).toMatch(
      new RegExp(`^\\S+Z {2}build:done {2}msg_51 {2}error \\(${connectError.replace(/\./g, "\\.")}\\) {2}\\d+ ms$`),
    );
    expect(cli.lines.find((line) => line.includes("msg_52"))).toMatch(/ {2}error \(invalid header key\) {2}\d+ ms$/);
    expect(await cli.stop()).toBeUndefined();
  });
});
