import { jetstream } from "@nats-io/jetstream";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { HeldTokens } from "./held-tokens.js";
import { connectQueue, ensureStream, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { ackMsg, pull } from "./pull.js";
import { freshQueueConfig } from "./test-fixtures.js";

const LEASE_MS = 3_000;

/**
 * HeldTokens on a real nats-server (TEST_QUEUE_URL or the machine's
 * 127.0.0.1:4222): real JetStream messages, and every answer the class sends
 * (`+ACK`, `-NAK`, `+WPI` on a message's reply subject) seen by a plain
 * subscription to the stream's ack subjects. Only `Date` is faked, to stand
 * a token exactly on its bounds (a third of the lease, the lease).
 */
describe("HeldTokens (NATS)", () => {
  const config = freshQueueConfig("held");
  const names = jetStreamNames(config.prefix);
  let nc: NatsConnection;
  let acks: Subscription;
  let answers: Array<{ reply: string; data: string }> = [];
  let nextHook = 0;

  beforeAll(async () => {
    nc = await connectQueue(config, "held-tokens test");
    await ensureStream(nc, config, LEASE_MS);
    acks = nc.subscribe(`$JS.ACK.${names.stream}.>`, { callback: (_error, msg) => void answers.push({ reply: msg.subject, data: msg.string() }) });
  });
  afterAll(async () => {
    acks?.unsubscribe();
    await nc?.close();
    await removeQueueStream(config);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** `n` fresh messages of a hook of their own, pulled (so awaiting their ack), and that hook. */
  async function messages(n: number): Promise<{ hookId: number; msgs: Msg[] }> {
    const hookId = ++nextHook;
    const js = jetstream(nc);
    for (let i = 0; i < n; i++) await js.publish(names.subject(hookId), "{}");
    const msgs: Msg[] = [];
    while (msgs.length < n) {
      for (const msg of await pull(nc, names.stream, names.consumer, n)) {
        if (msg.subject === names.subject(hookId)) msgs.push(msg);
        else ackMsg(nc, msg);
      }
    }
    await settle();
    return { hookId, msgs };
  }

  /** Waits until every answer sent so far came back to the subscription, forgets them, and returns those to `msgs` (a test's own). */
  async function settle(msgs: Msg[] = []): Promise<Array<{ reply: string; data: string }>> {
    await nc.flush();
    await nc.flush();
    const replies = new Set(msgs.map((msg) => msg.reply));
    const seen = answers.filter((answer) => replies.has(answer.reply));
    answers = [];
    return seen;
  }

  /** How many messages `held` holds per hook, read through what its claims and verdicts see (`hooks`, `snapshot`). */
  const countsOf = (held: HeldTokens) => new Map([...held.snapshot(held.hooks())].map(([hookId, tokens]) => [hookId, tokens.length]));

  /** Fakes Date only (not timers: the NATS client keeps its own), at `now`. */
  function freeze(now = Date.now()): number {
    vi.useFakeTimers({ toFake: ["Date"], now });
    return now;
  }

  it("counts the messages held per hook, and hands every one out at once (a claim's), holding none after", async () => {
    const a = await messages(2);
    const b = await messages(1);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    const tokens = a.msgs.map((msg) => held.add(a.hookId, msg, now));
    const [other] = b.msgs.map((msg) => held.add(b.hookId, msg, now));
    expect(countsOf(held)).toEqual(new Map([[a.hookId, 2], [b.hookId, 1]]));
    expect(held.hooks()).toEqual([a.hookId, b.hookId]);
    expect(held.takeAll()).toEqual(new Map([[a.hookId, tokens], [b.hookId, [other]]]));
    expect(countsOf(held)).toEqual(new Map());
    expect(held.hooks()).toEqual([]);
    expect(held.takeAll()).toEqual(new Map());
    expect(await settle([...a.msgs, ...b.msgs])).toEqual([]);
  });

  it("restarts a message's ack wait when added a third of the lease after it last was, not sooner", async () => {
    const { hookId, msgs } = await messages(2);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    const kept = held.add(hookId, msgs[0]!, now - LEASE_MS / 3 - 1);
    const fresh = held.add(hookId, msgs[1]!, now - LEASE_MS / 3);
    expect(kept?.keptAt).toBe(now);
    expect(fresh?.keptAt).toBe(now - LEASE_MS / 3);
    expect(await settle(msgs)).toEqual([{ reply: msgs[0]!.reply, data: "+WPI" }]);
  });

  it("does not hold a message whose ack wait ran out before it was added (a claim that outlasted it): not kept alive, not counted", async () => {
    const { hookId, msgs } = await messages(2);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    expect(held.add(hookId, msgs[0]!, now - LEASE_MS - 1)).toBeUndefined();
    expect(held.add(hookId, msgs[1]!, now - LEASE_MS)).toBeDefined();
    expect(countsOf(held)).toEqual(new Map([[hookId, 1]]));
    expect(await settle(msgs)).toEqual([{ reply: msgs[1]!.reply, data: "+WPI" }]);
  });

  it("never hands out a message whose ack wait ran out (JetStream offered it again), and answers none of them", async () => {
    const { hookId, msgs } = await messages(3);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    held.add(hookId, msgs[0]!, now - 1);
    const live = held.add(hookId, msgs[1]!, now);
    held.add(hookId + 1, msgs[2]!, now - 1);
    vi.setSystemTime(now + LEASE_MS);
    expect(held.takeAll()).toEqual(new Map([[hookId, [live]]]));
    expect(countsOf(held)).toEqual(new Map());
    expect(await settle(msgs)).toEqual([]);
  });

  it("snapshots the messages held of the hooks asked for only", async () => {
    const a = await messages(2);
    const b = await messages(1);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    const tokens = a.msgs.map((msg) => held.add(a.hookId, msg, now));
    held.add(b.hookId, b.msgs[0]!, now);
    const snap = held.snapshot([a.hookId, 999_999]);
    expect(snap).toEqual(new Map([[a.hookId, tokens]]));
  });

  it("answers held messages as their hook's verdict says: ack, nak after the delay, hold; no verdict keeps them", async () => {
    const acked = await messages(2);
    const naked = await messages(1);
    const holding = await messages(1);
    const unjudged = await messages(1);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    for (const { hookId, msgs } of [acked, naked, holding, unjudged]) for (const msg of msgs) held.add(hookId, msg, now);
    const snap = held.snapshot([acked.hookId, naked.hookId, holding.hookId, unjudged.hookId]);
    held.apply(
      snap,
      new Map([
        [acked.hookId, { kind: "ack" as const }],
        [naked.hookId, { kind: "nak" as const, delayMs: 1_500 }],
        [holding.hookId, { kind: "hold" as const, overflowMs: 700 }],
      ]),
    );
    const seen = await settle([...acked.msgs, ...naked.msgs, ...holding.msgs, ...unjudged.msgs]);
    expect(seen).toHaveLength(3);
    expect(seen).toEqual(
      expect.arrayContaining([
        { reply: acked.msgs[0]!.reply, data: "+ACK" },
        { reply: acked.msgs[1]!.reply, data: "+ACK" },
        { reply: naked.msgs[0]!.reply, data: `-NAK {"delay":${1_500 * 1_000_000}}` },
      ]),
    );
    expect(countsOf(held)).toEqual(new Map([[holding.hookId, 1], [unjudged.hookId, 1]]));
  });

  it("leaves alone a message taken since the snapshot, and drops a stale one unanswered", async () => {
    const { hookId, msgs } = await messages(3);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    held.add(hookId, msgs[0]!, now - LEASE_MS / 3);
    const snap = held.snapshot([hookId]);
    const taken = held.takeAll().get(hookId);
    expect(taken?.map((token) => token.msg)).toEqual([msgs[0]]);
    held.add(hookId, msgs[1]!, now);
    held.apply(snap, new Map([[hookId, { kind: "ack" as const }]]));
    expect(await settle(msgs)).toEqual([]);
    expect(countsOf(held)).toEqual(new Map([[hookId, 1]]));

    // Stale, with a hold verdict and an ack verdict: dropped, never answered (the copy JetStream offered again is another worker's).
    vi.setSystemTime(now + LEASE_MS + 1);
    held.apply(held.snapshot([hookId]), new Map([[hookId, { kind: "hold" as const, overflowMs: 500 }]]));
    expect(countsOf(held)).toEqual(new Map());
    held.add(hookId, msgs[2]!, now + LEASE_MS + 1);
    vi.setSystemTime(now + 2 * LEASE_MS + 2);
    held.apply(held.snapshot([hookId]), new Map([[hookId, { kind: "ack" as const }]]));
    expect(countsOf(held)).toEqual(new Map());
    expect(await settle(msgs)).toEqual([]);
  });

  it("holds at most 1000 messages of a hook: the rest are offered again after the verdict's overflow delay", async () => {
    const { hookId, msgs } = await messages(1);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    // One message added 1001 times stands for 1001 (each add is a token of its own).
    for (let i = 0; i < 1001; i++) held.add(hookId, msgs[0]!, now);
    held.apply(held.snapshot([hookId]), new Map([[hookId, { kind: "hold" as const, overflowMs: 700 }]]));
    expect(countsOf(held)).toEqual(new Map([[hookId, 1000]]));
    expect(await settle(msgs)).toEqual([{ reply: msgs[0]!.reply, data: `-NAK {"delay":${700 * 1_000_000}}` }]);
  });

  it("holds at most 20,000 messages in all, and counts none of those it let go", async () => {
    const { hookId, msgs } = await messages(1);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    const hooks = Array.from({ length: 21 }, (_, i) => hookId * 100 + i);
    for (const id of hooks) for (let i = 0; i < 1000; i++) held.add(id, msgs[0]!, now);
    const hold = new Map(hooks.map((id) => [id, { kind: "hold" as const, overflowMs: 700 }]));
    held.apply(held.snapshot(hooks), hold);
    expect([...countsOf(held).values()].reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(await settle(msgs)).toHaveLength(1000);
    // Taken out, answered and dropped messages leave the total: 20,000 held again is within it.
    held.takeAll();
    for (const id of hooks.slice(0, 20)) for (let i = 0; i < 1000; i++) held.add(id, msgs[0]!, now);
    held.apply(held.snapshot(hooks), hold);
    expect([...countsOf(held).values()].reduce((a, b) => a + b, 0)).toBe(20_000);
    held.releaseAll();
    expect(countsOf(held)).toEqual(new Map());
    expect(await settle(msgs)).toHaveLength(20_000);
    for (const id of hooks.slice(0, 20)) for (let i = 0; i < 1000; i++) held.add(id, msgs[0]!, now);
    held.apply(held.snapshot(hooks), hold);
    expect(held.hooks()).toHaveLength(20);
    expect(await settle(msgs)).toEqual([]);
  });

  it("keepAlive restarts the ack wait of every live message and drops the stale ones unanswered", async () => {
    const { hookId, msgs } = await messages(2);
    const other = await messages(1);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    held.add(hookId, msgs[0]!, now);
    vi.setSystemTime(now + LEASE_MS / 2);
    held.add(hookId, msgs[1]!, now + LEASE_MS / 2);
    held.add(other.hookId, other.msgs[0]!, now + LEASE_MS / 2);
    vi.setSystemTime(now + LEASE_MS + 1);
    held.keepAlive();
    expect(countsOf(held)).toEqual(new Map([[hookId, 1], [other.hookId, 1]]));
    expect(await settle([...msgs, ...other.msgs])).toEqual([
      { reply: msgs[1]!.reply, data: "+WPI" },
      { reply: other.msgs[0]!.reply, data: "+WPI" },
    ]);
    expect(held.takeAll().get(hookId)?.map((token) => token.msg)).toEqual([msgs[1]]);
  });

  it("releaseAll offers every live message again at once, the stale ones not", async () => {
    const { hookId, msgs } = await messages(2);
    const other = await messages(1);
    const held = new HeldTokens(nc, LEASE_MS);
    const now = freeze();
    held.add(hookId, msgs[0]!, now);
    held.add(other.hookId, other.msgs[0]!, now);
    vi.setSystemTime(now + LEASE_MS);
    // Last kept just over a third of the lease ago: kept alive as it is added.
    held.add(hookId, msgs[1]!, now + (2 * LEASE_MS) / 3 - 1);
    expect(await settle([...msgs, ...other.msgs])).toEqual([{ reply: msgs[1]!.reply, data: "+WPI" }]);
    vi.setSystemTime(now + LEASE_MS + 1);
    held.releaseAll();
    expect(await settle([...msgs, ...other.msgs])).toEqual([{ reply: msgs[1]!.reply, data: "-NAK" }]);
    expect(countsOf(held)).toEqual(new Map());
    expect(held.hooks()).toEqual([]);
  });
});
