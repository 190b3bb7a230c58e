import { createInbox, nanos, type Msg, type NatsConnection } from "@nats-io/transport-node";

/** A pull waits at most this long for the server's answer (it answers at once: `no_wait`); messages answered later are offered again. */
const PULL_TIMEOUT_MS = 2_000;
/** How long a pull that gave up still takes (and offers again) what the server answers it, unless the server ends it sooner. */
const LATE_ANSWER_MS = 60_000;

/**
 * Pulls up to `batch` messages from a pull consumer and returns at once with
 * what is there (`no_wait`), as a claim does, instead of waiting for a full
 * batch or an expiry as the client's `fetch` does. The server ends the pull
 * with a status message (404 none, 408 fewer than asked): no reply subject.
 * No `expires`: with one, nats-server (2.9.10 here) holds a pull that finds
 * nothing until it expires whenever messages are awaiting their ack (held
 * by a worker), which made every empty claim wait 1.5 s.
 * Raw JetStream API (`$JS.API.CONSUMER.MSG.NEXT`), acknowledged with
 * `ackMsg` and friends below.
 */
export function pull(nc: NatsConnection, stream: string, consumer: string, batch: number): Promise<Msg[]> {
  const inbox = createInbox();
  const msgs: Msg[] = [];
  let received = 0;
  let late = false;
  return new Promise((resolve) => {
    const end = () => {
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(msgs);
    };
    let timer = setTimeout(() => {
      // A busy server (or this busy process) may still answer: until it ends the pull, what comes late is
      // offered again at once instead of waiting out its ack wait unseen.
      late = true;
      resolve(msgs);
      timer = setTimeout(end, LATE_ANSWER_MS).unref();
    }, PULL_TIMEOUT_MS);
    const sub = nc.subscribe(inbox, {
      callback: (_error, msg) => {
        if (!msg.reply) return end();
        if (late) nakMsg(nc, msg, 0);
        else msgs.push(msg);
        if (++received >= batch) end();
      },
    });
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch, no_wait: true }), { reply: inbox });
  });
}

/** Done with: the message leaves the work-queue stream. */
export function ackMsg(nc: NatsConnection, msg: Msg): void {
  nc.publish(msg.reply!, "+ACK");
}

/** Offer again after `delayMs` (0: at once). */
export function nakMsg(nc: NatsConnection, msg: Msg, delayMs: number): void {
  nc.publish(msg.reply!, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(Math.ceil(delayMs)) })}` : "-NAK");
}

/** Restarts the message's ack wait: it is claimed now, and its lease starts now. */
export function workingMsg(nc: NatsConnection, msg: Msg): void {
  nc.publish(msg.reply!, "+WPI");
}
