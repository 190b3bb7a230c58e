import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { ackMsg, nakMsg, workingMsg } from "./pull.js";
import type { TokenVerdict } from "./token-records.js";

/** Messages held back per hook, and in all: enough for the largest claim (HOOKLINE_WORKER_BATCH_SIZE at most 1000); the rest are offered again. */
const HOLD_PER_HOOK = 1000;
const HOLD_TOTAL = 20_000;

/** A message held back, and when (local ms) its ack wait last restarted. */
interface Token {
  msg: Msg;
  keptAt: number;
}

/**
 * The messages ("tokens") a NATS worker holds back for hooks whose due
 * deliveries it could not claim now (nats-queue.ts), so the next claim —
 * woken when a slot frees — has them at once instead of after a redelivery
 * delay. A held message stays unacknowledged: its ack wait (the lease) is
 * restarted every third of it (`+WPI`), and one not restarted within the
 * lease is dropped unanswered, since JetStream has offered it again. A
 * worker that dies leaves them to come back after the ack wait.
 */
export class HeldTokens {
  private readonly byHook = new Map<number, Set<Token>>();
  private total = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly leaseMs: number,
  ) {}

  /**
   * Holds `msg` of `hookId`; `keptAt` is when its ack wait last restarted
   * (restarted now if that is a third of the lease ago). One whose ack wait
   * ran out is not held (JetStream has offered it again): undefined.
   */
  add(hookId: number, msg: Msg, keptAt: number): Token | undefined {
    const token = { msg, keptAt };
    if (this.stale(token)) return undefined;
    if (Date.now() - keptAt > this.leaseMs / 3) this.keep(token);
    const set = this.byHook.get(hookId) ?? new Set<Token>();
    this.byHook.set(hookId, set);
    set.add(token);
    this.total++;
    return token;
  }

  /**
   * Takes out every live message held, by hook (a claim's: its quota, then
   * the rows it pairs them with; it adds back the ones left over). Taken
   * out, a message is neither counted by a claim running alongside nor
   * answered by a verdict read before: each row a claim takes has a message
   * of its own. Stale ones are dropped unanswered.
   */
  takeAll(): Map<number, Token[]> {
    const taken = new Map<number, Token[]>();
    for (const [hookId, set] of this.byHook) {
      const live = [...set].filter((token) => !this.stale(token));
      if (live.length > 0) taken.set(hookId, live);
    }
    this.byHook.clear();
    this.total = 0;
    return taken;
  }

  /** The messages held now of these hooks (the ones a verdict read from the records is for). */
  snapshot(hookIds: Iterable<number>): Map<number, Token[]> {
    const snap = new Map<number, Token[]>();
    for (const hookId of hookIds) {
      const set = this.byHook.get(hookId);
      if (set) snap.set(hookId, [...set]);
    }
    return snap;
  }

  hooks(): number[] {
    return [...this.byHook.keys()];
  }

  /** Answers the messages of `snapshot` still held as their hook's verdict says; a hook without one keeps its messages. */
  apply(snapshot: Map<number, Token[]>, verdicts: Map<number, TokenVerdict>): void {
    for (const [hookId, list] of snapshot) {
      const verdict = verdicts.get(hookId);
      const set = this.byHook.get(hookId);
      if (!verdict || !set) continue;
      for (const token of list) {
        if (!set.has(token)) continue;
        if (verdict.kind === "hold" && !this.stale(token) && set.size <= HOLD_PER_HOOK && this.total <= HOLD_TOTAL) continue;
        this.remove(hookId, token);
        if (this.stale(token)) continue;
        if (verdict.kind === "ack") ackMsg(this.nc, token.msg);
        else nakMsg(this.nc, token.msg, verdict.kind === "nak" ? verdict.delayMs : verdict.overflowMs);
      }
    }
  }

  /** Restarts the ack wait of every message held, and drops the ones JetStream has offered again meanwhile. */
  keepAlive(): void {
    for (const [hookId, set] of this.byHook) {
      for (const token of set) {
        if (this.stale(token)) this.remove(hookId, token);
        else this.keep(token);
      }
    }
  }

  /** Offers every message held again at once (closing: another worker takes them). */
  releaseAll(): void {
    for (const set of this.byHook.values()) for (const token of set) if (!this.stale(token)) nakMsg(this.nc, token.msg, 0);
    this.byHook.clear();
    this.total = 0;
  }

  private remove(hookId: number, token: Token): void {
    const set = this.byHook.get(hookId);
    if (!set?.delete(token)) return;
    this.total--;
    if (set.size === 0) this.byHook.delete(hookId);
  }

  private keep(token: Token): void {
    workingMsg(this.nc, token.msg);
    token.keptAt = Date.now();
  }

  /** Its ack wait may have run out: JetStream has offered it again, and answering it could answer that other copy. */
  private stale(token: Token): boolean {
    return Date.now() - token.keptAt > this.leaseMs;
  }
}
