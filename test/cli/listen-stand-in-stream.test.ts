import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventually } from "../support/delivery.js";
import { runListen, startHangingApp, startLocalApp } from "../support/listen-cli.js";
import { deliveryMessage, problem, sendDelivery, startListenStandIn, untilClientLeaves } from "../support/listen-stand-in.js";

/**
 * `hookline listen`'s session and stream against a scripted stand-in of the
 * server (test/support/listen-stand-in.ts): what it asks for, a refusal,
 * reopening with backoff, a session gone, the session's removal, and how
 * signals end it. Quick enough to run for each mutant of listen-command.ts;
 * the same against the real server is listen-in-process*.test.ts.
 */

const KEY = "hk_stand_in";
const STOPPING = "Hookline is stopping; reconnect in a moment.";
const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
  vi.restoreAllMocks();
});

/** What `ended` settled to, or "still running" after `ms`. */
const within = <T>(ended: Promise<T>, ms: number) => Promise.race([ended, sleep(ms).then(() => "still running" as const)]);
const signalHandlers = () => process.listeners("SIGINT").length + process.listeners("SIGTERM").length;

describe("hookline listen's session and stream (stand-in server)", () => {
  it("asks for the chosen event types, none when --events names none, and says a refusal with the server's reason", async () => {
    const standIn = await startListenStandIn({
      create: (c, body) => {
        if (body.forward_to === "http://127.0.0.1:9/refused") return problem(c, 503, STOPPING);
        // What no Hookline answers, but a proxy in front of one might: a success without the session.
        if (body.forward_to === "http://127.0.0.1:9/empty") return c.body(null, 201);
        return undefined;
      },
    });
    closing.push(standIn.close);
    const listen = (events: string | undefined, forwardTo = "http://127.0.0.1:9/in") => {
      const cli = runListen(standIn, KEY, { "forward-to": forwardTo, ...(events === undefined ? {} : { events }) });
      // Ended even when an expectation fails first (a no-op once it ended).
      closing.push(async () => void (await cli.stop()));
      return cli;
    };

    const chosen = listen(" build:* , ,ping");
    await chosen.sessionId();
    expect(chosen.lines[0]).toBe(
      `Ready: forwarding build:*, ping to http://127.0.0.1:9/in (listen session 7, through ${standIn.url}). Ctrl-C to stop.`,
    );
    expect(await chosen.stop()).toBeUndefined();
    const blank = listen(" , ");
    await blank.sessionId();
    expect(await blank.stop()).toBeUndefined();
    expect(standIn.seen.creates.map((create) => create.body)).toEqual([
      { events: ["build:*", "ping"], forward_to: "http://127.0.0.1:9/in" },
      { forward_to: "http://127.0.0.1:9/in" },
    ]);

    const refused = listen(undefined, "http://127.0.0.1:9/refused");
    expect((await refused.ended)?.message).toBe(`Starting a listen session failed: 503 ${STOPPING}`);
    vi.restoreAllMocks();
    expect(refused.lines).toEqual([]);
    // Asked once (no retry: the user runs it again), and nothing to remove.
    expect(standIn.seen.creates).toHaveLength(3);
    expect(standIn.seen.removals).toBe(2);

    const empty = listen(undefined, "http://127.0.0.1:9/empty");
    // The SDK makes a success with no body a 502 problem quoting what came (sdk/src/typed-answers.ts), and the CLI says it.
    expect((await within(empty.ended, 2_000)) as Error).toMatchObject({
      message: "Starting a listen session failed: 502 HTTP 201 came with an empty body, which is not readable JSON.",
    });
    vi.restoreAllMocks();
    expect(empty.lines).toEqual([]);
  });

  it("ends on a session gone, saying so; a removal refused or a server gone says the session expires on its own", async () => {
    const gone = await startListenStandIn({
      stream: (_n, c) => problem(c, 404, "No listen session 7."),
      remove: (c) => problem(c, 404, "No listen session 7."),
    });
    closing.push(gone.close);
    const ended = runListen(gone, KEY, { "forward-to": "http://127.0.0.1:9/in" });
    expect((await within(ended.ended, 2_000)) as Error).toMatchObject({
      message: "Listen session 7 is gone (expired or deleted): run hookline listen again.",
    });
    vi.restoreAllMocks();
    expect(ended.lines.at(-1)).toBe("Listen session 7 could not be removed; it expires on its own.");
    expect(ended.errors).toEqual([]);
    expect(gone.seen).toMatchObject({ openings: 1, removals: 1 });

    const leaving = await startListenStandIn();
    const cli = runListen(leaving, KEY, { "forward-to": "http://127.0.0.1:9/in" });
    closing.push(async () => void (await cli.stop()));
    await eventually(async () => (leaving.seen.openings === 1 ? true : undefined), 5_000, "the stream open");
    await leaving.close();
    await eventually(async () => cli.errors[0], 5_000, "the stream interrupted");
    expect(await within(cli.stop(), 2_000)).toBeUndefined();
    expect(cli.lines.at(-1)).toBe("Listen session 7 could not be removed; it expires on its own.");
  });

  it("Ctrl-C while the local app is answering reports nothing, a second exits 130, SIGTERM ends it too, and its handlers go", async () => {
    const hanging = await startHangingApp();
    closing.push(hanging.close);
    const standIn = await startListenStandIn({
      stream: (n) => async (sse) => {
        if (n === 0) await sendDelivery(sse, deliveryMessage());
        await untilClientLeaves(sse);
      },
    });
    closing.push(standIn.close);
    const before = signalHandlers();
    const exits: unknown[] = [];
    const cli = runListen(standIn, KEY, { "forward-to": hanging.url });
    vi.spyOn(process, "exit").mockImplementation(((code?: number) => void exits.push(code)) as never);
    await hanging.arrival;
    cli.signal("SIGINT");
    expect(exits, "the first one only stops").toEqual([]);
    cli.signal("SIGINT");
    expect(exits).toEqual([130]);
    expect(await within(cli.ended, 2_000)).toBeUndefined();
    expect(cli.lines.at(-1)).toBe("Listen session 7 removed.");
    expect(
      cli.lines.filter((line) => line.includes("msg_stand_in_41")),
      "no answer printed",
    ).toEqual([]);
    expect(cli.errors).toEqual([]);
    expect(standIn.seen.reports).toEqual([]);
    expect(signalHandlers(), "its signal handlers are gone").toBe(before);

    const app = await startLocalApp(() => ({ status: 204, body: "" }));
    closing.push(app.close);
    const terminated = runListen(standIn, KEY, { "forward-to": app.url });
    await eventually(async () => (standIn.seen.openings === 2 ? true : undefined), 5_000, "the stream open");
    terminated.signal("SIGTERM");
    expect(await within(terminated.ended, 2_000)).toBeUndefined();
    expect(terminated.lines.at(-1)).toBe("Listen session 7 removed.");
    expect(terminated.errors).toEqual([]);
    expect(signalHandlers()).toBe(before);
  });

  it("reopens a refused stream backing off 500, 1000, 2000 ms, from 500 again once one opened; an unreadable event interrupts it; Ctrl-C while waiting ends it at once", async () => {
    const standIn = await startListenStandIn({
      stream: (n, c) => {
        if (n < 3 || n === 5) return problem(c, 503, STOPPING);
        // The first stream opened ends at once; the one after it sends what is not a delivery's JSON.
        if (n === 3) return async () => {};
        if (n === 4) return async (sse) => void (await sse.writeSSE({ event: "delivery", data: "{not json" }));
        return untilClientLeaves;
      },
    });
    closing.push(standIn.close);
    const cli = runListen(standIn, KEY, { "forward-to": "http://127.0.0.1:9/in" });
    closing.push(async () => void (await cli.stop()));

    const refusal = (ms: number) => `Stream interrupted (Opening the stream failed: 503 ${STOPPING}); reconnecting in ${ms} ms.`;
    await eventually(async () => (cli.errors.length === 5 ? true : undefined), 9_000, "five interruptions");
    expect(cli.errors.slice(0, 3)).toEqual([refusal(500), refusal(1000), refusal(2000)]);
    expect(cli.errors[3]).toMatch(/^Stream interrupted \(.*JSON.*\); reconnecting in 500 ms\.$/);
    // An opened stream that ended is waited on as a failure is: 500 ms, then 1000.
    expect(cli.errors[4]).toBe(refusal(1000));
    expect(
      cli.lines.filter((line) => line === "Reconnected."),
      "said of the second stream opened only",
    ).toHaveLength(1);

    const stopped = Date.now();
    expect(await within(cli.stop(), 2_000)).toBeUndefined();
    expect(Date.now() - stopped, "not after the 1000 ms wait").toBeLessThan(400);
    expect(standIn.seen.openings).toBe(6);
    expect(cli.lines.at(-1)).toBe("Listen session 7 removed.");
  });
});
