import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { createSecretBox, mainKeyOf, sealedKeyId, type SecretBox } from "../signing/secret-box.js";
import type { Store } from "./database.js";
import { findUnreadableSecret, resealHookSecrets, type ResealProgress } from "./hook-secrets.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";

/**
 * The re-encryption pass (`hookline secrets reencrypt`, and the start-up
 * sealing of clear text) and the start-up check for a missing main key, at
 * the rows: every current and retired secret lands under the current key,
 * nothing else is touched, and what does not open is named, not a stop.
 */

const oldKey = Buffer.alloc(32, 3);
const newKey = Buffer.alloc(32, 4);
const strayKey = Buffer.alloc(32, 5);
const older = createSecretBox(oldKey);
const box = createSecretBox(newKey, [oldKey]);
const stray = createSecretBox(strayKey);
const EXPIRES = "2099-01-01T00:00:00.000Z";

describe.each(fixtureBackends())("hook secrets at rest ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());
  beforeEach(() => store.db.deleteFrom("hooks").execute());

  /** A hook whose current secret and retired ones are made by `sealer` for its own id (values are bound to it). */
  async function hook(current: (id: number) => string, retired: Array<(id: number) => string> = []): Promise<number> {
    const id = await hookWithDeliveries(store, accountId, 0);
    const list = retired.map((seal) => ({ secret: seal(id), expires_at: EXPIRES }));
    await store.db
      .updateTable("hooks")
      .set({ secret: current(id), previous_secret: list.length ? JSON.stringify(list) : null })
      .where("id", "=", id)
      .execute();
    return id;
  }
  const sealedBy = (by: SecretBox, secret: string) => (id: number) => by.seal(id, secret);
  const clear = (secret: string) => () => secret;

  async function stored(id: number): Promise<{ secret: string; retired: string[] }> {
    const row = await store.db.selectFrom("hooks").select(["secret", "previous_secret"]).where("id", "=", id).executeTakeFirstOrThrow();
    const list = JSON.parse(row.previous_secret ?? "[]") as Array<{ secret: string; expires_at: string }>;
    for (const entry of list) expect(entry.expires_at, "a reseal keeps each retired secret's end").toBe(EXPIRES);
    return { secret: row.secret, retired: list.map((entry) => entry.secret) };
  }
  /** The clear secrets of hook `id`, opened with the new box, and the key id each is stored under. */
  async function opened(id: number): Promise<Array<[string, string | undefined]>> {
    const { secret, retired } = await stored(id);
    return [secret, ...retired].map((value) => [value.startsWith("hlenc:") ? box.open(id, value) : value, sealedKeyId(value)]);
  }

  it("moves every current and retired secret, clear or under an older key, to the current key, walking batches", async () => {
    const [newId, oldId] = [mainKeyOf(newKey).id, mainKeyOf(oldKey).id];
    const a = await hook(sealedBy(older, "a"), [sealedBy(older, "a1"), clear("a2")]);
    const b = await hook(clear("b"));
    const c = await hook(sealedBy(box, "c"), [sealedBy(older, "c1")]);
    const d = await hook(sealedBy(box, "d"), [sealedBy(box, "d1")]);
    const untouched = await stored(d);
    const batches: ResealProgress[] = [];

    const done = await resealHookSecrets(store.db, box, { batchSize: 2, onBatch: (p) => batches.push(p) });

    expect(done).toEqual({ resealed: 3, remaining: 0, unreadable: [] });
    // Two stale rows, then one: each batch reports the running total.
    expect(batches.map((p) => p.resealed)).toEqual([2, 3]);
    expect(await opened(a)).toEqual([["a", newId], ["a1", newId], ["a2", newId]]);
    expect(await opened(b)).toEqual([["b", newId]]);
    expect(await opened(c)).toEqual([["c", newId], ["c1", newId]]);
    expect(await stored(d), "a row already under the current key is not rewritten").toEqual(untouched);
    expect(oldId).not.toBe(newId);
  });

  it("clearOnly seals the rows holding clear text (current or retired) and leaves sealed rows under an older key for `secrets reencrypt`", async () => {
    const a = await hook(clear("a"), [clear("a1")]);
    const b = await hook(sealedBy(older, "b"), [clear("b1"), sealedBy(older, "b2")]);
    const c = await hook(sealedBy(older, "c"), [sealedBy(older, "c1")]);
    const untouched = await stored(c);

    const done = await resealHookSecrets(store.db, box, { batchSize: 500, clearOnly: true });

    expect(done).toEqual({ resealed: 2, remaining: 0, unreadable: [] });
    expect((await opened(a)).map(([secret]) => secret)).toEqual(["a", "a1"]);
    expect((await opened(a)).every(([, keyId]) => keyId === box.current.id)).toBe(true);
    // A row is rewritten whole: its older key's values move with its clear one.
    expect(await opened(b)).toEqual([["b", box.current.id], ["b1", box.current.id], ["b2", box.current.id]]);
    expect(await stored(c)).toEqual(untouched);
  });

  it("skips and names a hook whose secret does not open, counts it as remaining, and reseals the others", async () => {
    const lost = await hook(sealedBy(stray, "lost"));
    const lostRetired = await hook(sealedBy(older, "x"), [sealedBy(stray, "x1")]);
    const fine = await hook(sealedBy(older, "fine"));
    const before = [await stored(lost), await stored(lostRetired)];

    const batches: ResealProgress[] = [];
    const done = await resealHookSecrets(store.db, box, { batchSize: 2, onBatch: (p) => batches.push(p) });

    expect(done).toEqual({ resealed: 1, remaining: 2, unreadable: [lost, lostRetired] });
    // The first batch had nothing it could write: no statement, no progress report.
    expect(batches).toEqual([{ resealed: 1, remaining: 0, unreadable: [lost, lostRetired] }]);
    expect([await stored(lost), await stored(lostRetired)], "an unreadable row is left as it is").toEqual(before);
    expect(await opened(fine)).toEqual([["fine", box.current.id]]);
  });

  it("findUnreadableSecret names a hook with a current or retired secret under a key the box does not hold", async () => {
    await hook(clear("clear text is not unreadable"), [clear("nor is a clear retired one")]);
    await hook(sealedBy(older, "an older key the box lists"), [sealedBy(box, "r")]);
    expect(await findUnreadableSecret(store.db, box)).toBeUndefined();

    const retiredOnly = await hook(sealedBy(box, "fine"), [sealedBy(box, "fine too"), sealedBy(stray, "lost")]);
    expect(await findUnreadableSecret(store.db, box)).toEqual({ id: retiredOnly, keyId: mainKeyOf(strayKey).id });
    await store.db.deleteFrom("hooks").where("id", "=", retiredOnly).execute();

    // A clear current secret beside it is not what is named.
    const besideClear = await hook(clear("clear"), [sealedBy(stray, "lost")]);
    expect(await findUnreadableSecret(store.db, box)).toEqual({ id: besideClear, keyId: mainKeyOf(strayKey).id });
    await store.db.deleteFrom("hooks").where("id", "=", besideClear).execute();

    const current = await hook(sealedBy(stray, "lost"));
    expect(await findUnreadableSecret(store.db, box)).toEqual({ id: current, keyId: mainKeyOf(strayKey).id });
    // The older key alone (no previous key listed) cannot open the new key's values.
    expect(await findUnreadableSecret(store.db, older)).toMatchObject({ keyId: box.current.id });
  });

  it("findUnreadableSecret names the lowest id of several, whatever order the table's pages hold them in", async () => {
    const first = await hook(sealedBy(stray, "lost"));
    const second = await hook(sealedBy(stray, "lost too"));
    // A new version of the first row lands after the second one in the page: a scan meets the second first.
    await store.db.updateTable("hooks").set({ name: "renamed" }).where("id", "=", first).execute();
    const scanOrder = await sql<{ id: number }>`select id from hooks`.execute(store.db);
    expect(scanOrder.rows.map((r) => r.id), "the setup puts the higher id first in the table").toEqual([second, first]);
    expect(await findUnreadableSecret(store.db, box)).toEqual({ id: first, keyId: mainKeyOf(strayKey).id });
  });
});
