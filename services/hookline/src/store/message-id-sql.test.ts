import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "./database.js";
import { findDelivery } from "./deliveries.js";
import { searchEvents } from "./event-search.js";
import { parseMessageId } from "./message-id-sql.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";

const ULID = "01JDZ5Q6T8W3X0V9KHJ2B4N7CM";

/**
 * A delivery's webhook-id: `msg_<event's ULID>_<hook id>` read from the event
 * (issue 20: deliveries store no copy), or the id a row stored before
 * 2026-12-06. Both are what the API shows and what the event log finds.
 */
describe.each(fixtureBackends())("webhook-ids ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  /** One event of ULID `ulid` delivered to `hookId`, the delivery storing `stored` (null: today's rows); returns ids. */
  async function deliveryOf(hookId: number, ulid: string | null, stored: string | null) {
    const row = await sql<{ event_id: number; id: number }>`
      with ev as (insert into events (account_id, type, data, deliveries_count, message_ulid) values (${accountId}, 'x', '{}', 1, ${ulid}) returning id)
      insert into deliveries (event_id, hook_id, account_id, message_id) select ev.id, ${hookId}, ${accountId}, ${stored} from ev returning event_id, id`.execute(store.db);
    return { eventId: Number(row.rows[0]!.event_id), deliveryId: Number(row.rows[0]!.id) };
  }
  const found = async (q: string) => (await searchEvents(store.db, accountId, { q }, 10)).map((e) => Number(e.id));

  it("reads today's id from the event and an older row's from the row, and the event log finds each by it", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 0);
    const otherHook = await hookWithDeliveries(store, accountId, 0);
    const today = await deliveryOf(hookId, ULID, null);
    const older = await deliveryOf(hookId, null, "msg_2f1c9e0b8a7d4c3e9b1a0f2e3d4c5b6a");

    expect((await findDelivery(store.db, accountId, today.deliveryId))!.message_id).toBe(`msg_${ULID}_${hookId}`);
    expect((await findDelivery(store.db, accountId, older.deliveryId))!.message_id).toBe("msg_2f1c9e0b8a7d4c3e9b1a0f2e3d4c5b6a");

    expect(await found(`msg_${ULID}_${hookId}`)).toEqual([today.eventId]);
    expect(await found("msg_2f1c9e0b8a7d4c3e9b1a0f2e3d4c5b6a")).toEqual([older.eventId]);
    // The right ULID with a hook the event was not delivered to names no delivery.
    expect(await found(`msg_${ULID}_${otherHook}`)).toEqual([]);
  });

  it("finds nothing, and fails nothing, for a webhook-id whose hook id no hook can have (hooks.id is an integer)", async () => {
    for (const q of [`msg_${ULID}_2147483648`, `msg_${ULID}_99999999999`, `msg_${ULID}_999999999999999`]) expect.soft(await found(q).catch(String), q).toEqual([]);
    expect(parseMessageId(`msg_${ULID}_2147483647`)).toEqual({ ulid: ULID, hookId: 2147483647 });
  });

  it("parses only the msg_<ULID>_<hook id> form", () => {
    expect(parseMessageId(`msg_${ULID}_42`)).toEqual({ ulid: ULID, hookId: 42 });
    for (const other of [`xmsg_${ULID}_4`, `msg_${ULID}_0`, `msg_${ULID}_`, `msg_${ULID.toLowerCase()}_4`, `msg_${ULID}x_4`, `msg_${ULID}_4_`, "msg_12", `msg_${ULID.slice(1)}U_4`])
      expect(parseMessageId(other)).toBeUndefined();
  });
});
