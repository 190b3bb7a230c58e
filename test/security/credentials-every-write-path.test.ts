import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { startDeliveryStack, type DeliveryStack } from "../support/delivery.js";
import { TEST_ADMIN_TOKEN } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * The kind: every path that writes a signing secret, an API key or a token
 * is checked at the row, not only through the API (issue 23: a PATCH that
 * stored its secret in clear passed a suite that read secrets back through
 * the API only). Each credential a path hands out or takes in is looked for
 * in every text and JSON column of every table — in clear, and without its
 * `whsec_`/`hl_` prefix — so a copy kept anywhere (a replayed Idempotency-Key
 * answer, a log column, a session) fails the test, not only the column it
 * belongs in.
 */

/** Every text and JSON value of every table of the public schema, as text. */
async function everyStoredText(stack: DeliveryStack): Promise<string[]> {
  const db = stack.database.store.db;
  const columns = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = 'public' and data_type in ('text', 'json', 'jsonb', 'character varying', 'ARRAY')`.execute(db);
  const values: string[] = [];
  for (const { table_name, column_name } of columns.rows) {
    const rows = await sql<{ v: string | null }>`select ${sql.ref(column_name)}::text as v from ${sql.table(table_name)}`.execute(db);
    for (const row of rows.rows) if (row.v !== null) values.push(`${table_name}.${column_name}: ${row.v}`);
  }
  return values;
}

/** The places `credential` (or its random part) is stored in clear. */
async function clearCopies(stack: DeliveryStack, credential: string): Promise<string[]> {
  const needles = [credential, credential.replace(/^whsec_/, "")].filter((n) => n.length >= 12);
  const stored = await everyStoredText(stack);
  return stored.filter((value) => needles.some((needle) => value.includes(needle))).map((value) => value.slice(0, value.indexOf(":")));
}

const SEALED = /^hlenc:v1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*$/;
const chosenSecret = () => `whsec_${randomBytes(24).toString("base64")}`;

describe.each(testBackends())("credentials at rest on every write path ($kind)", (backend) => {
  let stack: DeliveryStack;
  let v1: ReturnType<typeof specClient>;
  let hookId: number;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
    v1 = stack.api;
    hookId = (await v1.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/h`, events: ["*"] } })).body.id;
  });
  afterAll(() => stack?.close());

  async function storedSecretOf(id: number): Promise<{ secret: string; previous_secret: string | null }> {
    return stack.database.store.db.selectFrom("hooks").select(["secret", "previous_secret"]).where("id", "=", id).executeTakeFirstOrThrow();
  }

  it("PATCH /v1/hooks/{id} with a secret seals it", async () => {
    const secret = chosenSecret();
    const patched = await v1.call("PATCH", `/v1/hooks/${hookId}`, { body: { secret } });
    expect(patched.status).toBe(200);
    expect((await v1.call("GET", `/v1/hooks/${hookId}/secret`)).body.secret).toBe(secret);
    expect((await storedSecretOf(hookId)).secret).toMatch(SEALED);
    expect(await clearCopies(stack, secret)).toEqual([]);
  });

  it("PUT /v1/hooks/{id} with a secret seals it", async () => {
    const secret = chosenSecret();
    const put = await v1.call("PUT", `/v1/hooks/${hookId}`, { body: { url: `${stack.receiver.url}/h`, events: ["*"], secret } });
    expect(put.status).toBe(200);
    expect((await v1.call("GET", `/v1/hooks/${hookId}/secret`)).body.secret).toBe(secret);
    expect((await storedSecretOf(hookId)).secret).toMatch(SEALED);
    expect(await clearCopies(stack, secret)).toEqual([]);
  });

  it("a rotation to a chosen secret seals both the new and the rotated-out one", async () => {
    const before = (await v1.call("GET", `/v1/hooks/${hookId}/secret`)).body.secret as string;
    const secret = chosenSecret();
    const rotated = await v1.call("POST", `/v1/hooks/${hookId}/secret/rotate`, { body: { secret } });
    expect(rotated.status).toBe(200);
    const row = await storedSecretOf(hookId);
    expect(row.secret).toMatch(SEALED);
    // Every rotated-out secret still in its grace period, newest first, each sealed.
    const retired = JSON.parse(row.previous_secret ?? "[]") as Array<{ secret: string; expires_at: string }>;
    expect(retired.length).toBeGreaterThan(0);
    for (const entry of retired) expect(entry.secret).toMatch(SEALED);
    expect(await clearCopies(stack, secret)).toEqual([]);
    expect(await clearCopies(stack, before)).toEqual([]);
  });

  it("an Idempotency-Key replay of a create keeps no clear copy of the secret it answered with", async () => {
    const key = `create-${randomBytes(6).toString("hex")}`;
    const body = { url: `${stack.receiver.url}/idem`, events: ["*"] };
    const first = await v1.call("POST", "/v1/hooks", { body, headers: { "idempotency-key": key } });
    expect(first.status).toBe(201);
    const replay = await v1.call("POST", "/v1/hooks", { body, headers: { "idempotency-key": key } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    // The replay answers exactly as the first request did, secret included.
    expect(replay.body).toEqual(first.body);
    expect(await clearCopies(stack, first.body.secret)).toEqual([]);
  });

  it("an Idempotency-Key replay of a rotation keeps no clear copy of either secret", async () => {
    const key = `rotate-${randomBytes(6).toString("hex")}`;
    const first = await v1.call("POST", `/v1/hooks/${hookId}/secret/rotate`, { body: {}, headers: { "idempotency-key": key } });
    expect(first.status).toBe(200);
    const replay = await v1.call("POST", `/v1/hooks/${hookId}/secret/rotate`, { body: {}, headers: { "idempotency-key": key } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    expect(await clearCopies(stack, first.body.secret)).toEqual([]);
  });

  it("API keys made by every path are stored as their SHA-256 only, replays included", async () => {
    const made: string[] = [];
    const key = `key-${randomBytes(6).toString("hex")}`;
    const created = await v1.call("POST", "/v1/keys", { body: { name: "at rest" }, headers: { "idempotency-key": key } });
    expect(created.status).toBe(201);
    made.push(created.body.key);
    const replay = await v1.call("POST", "/v1/keys", { body: { name: "at rest" }, headers: { "idempotency-key": key } });
    expect(replay.body.key).toBe(created.body.key);

    const rotated = await v1.call("POST", `/v1/keys/${created.body.id}/rotate`, { body: {} });
    expect(rotated.status).toBe(201);
    made.push(rotated.body.key);

    const admin = specClient(stack.server.url, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    const account = await admin.call("POST", "/v1/accounts", { body: { name: "at rest" }, headers: { "idempotency-key": key } });
    expect(account.status).toBe(201);
    if (account.body.key) made.push(account.body.key);
    const adminKey = await admin.call("POST", `/v1/accounts/${account.body.id}/keys`, { body: { name: "second" }, headers: { "idempotency-key": `${key}-2` } });
    expect(adminKey.status).toBe(201);
    made.push(adminKey.body.key);

    const rows = await stack.database.store.db.selectFrom("api_keys").select(["key_hash"]).execute();
    const hashes = new Set(rows.map((r) => r.key_hash));
    for (const apiKey of made) {
      expect(hashes.has(createHash("sha256").update(apiKey).digest("hex")), "the key's SHA-256 is stored").toBe(true);
      expect(await clearCopies(stack, apiKey)).toEqual([]);
    }
  });
});
