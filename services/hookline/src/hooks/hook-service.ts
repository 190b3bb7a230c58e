import type { Config } from "../config.js";
import type { AuthenticatedAccount } from "../domain/account.js";
import { HooklineError, invalid, notFound, type FieldError } from "../domain/errors.js";
import { lockName } from "../store/advisory-locks.js";
import { generateSigningSecret, secretProblem } from "../signing/secret.js";
import type { SecretBox } from "../signing/secret-box.js";
import {
  latestExpiry,
  liveRetiredSecrets,
  mapRetiredSecrets,
  MAX_RETIRED_SECRETS,
  parseRetiredSecrets,
  serializeRetiredSecrets,
} from "../signing/retired-secrets.js";
import type { Store } from "../store/database.js";
import * as hooks from "../store/hooks.js";
import type { HookRow, HookUpdate } from "../store/schema.js";
import { refusalForHost } from "../targets/address-policy.js";
import { customDataProblem, DEFAULT_RETRIES, type HookCreate, type HookListQuery, type HookPatch } from "./hook-input.js";
import { pingHook, type PingHookTarget } from "../delivery/ping.js";
import { createDeliveryTransport, type DeliveryTransport } from "../delivery/transport.js";

/**
 * The rules of a hook, shared by the canonical `/v1/hooks` API and every
 * compatibility profile: what makes a callback URL or secret acceptable,
 * what a replace resets, how secrets rotate. Throws `HooklineError`s.
 *
 * Signing secrets are stored sealed (AES-256-GCM, `signing/secret-box.ts`).
 * Rows come back with `secret`/`previous_secret` still sealed, except from
 * `create`, `getSecrets` and `rotateSecret`, whose callers show them.
 */
export interface HookService {
  /** The new hook, its secrets in clear. */
  create(account: AuthenticatedAccount, input: HookCreate): Promise<HookRow>;
  get(account: AuthenticatedAccount, id: number): Promise<HookRow>;
  /** The hook with its secrets in clear. */
  getSecrets(account: AuthenticatedAccount, id: number): Promise<HookRow>;
  /** The account's hooks with exactly this callback URL, oldest first. */
  findByUrl(account: AuthenticatedAccount, url: string): Promise<HookRow[]>;
  /**
   * Subscribe-by-URL, atomically: under a lock on (account, `input.url`),
   * `reuse` sees the account's hooks with that URL and answers the one to
   * give back (or throws, e.g. a conflict); when it answers undefined the
   * hook is created. Concurrent identical calls create one hook, never two.
   */
  createUnlessUrlTaken(account: AuthenticatedAccount, input: HookCreate, reuse: (existing: HookRow[]) => HookRow | undefined): Promise<HookRow>;
  list(account: AuthenticatedAccount, query: HookListQuery): Promise<{ hooks: HookRow[]; nextAfter: number | undefined }>;
  replace(account: AuthenticatedAccount, id: number, input: HookCreate): Promise<HookRow>;
  patch(account: AuthenticatedAccount, id: number, input: HookPatch): Promise<HookRow>;
  remove(account: AuthenticatedAccount, id: number): Promise<void>;
  /** The hook after the rotation, its secrets in clear. */
  rotateSecret(account: AuthenticatedAccount, id: number, secret: string | undefined): Promise<HookRow>;
  /** Sends a `ping` to the hook now; throws an `invalid` error with the reason when it does not answer 2xx. */
  ping(account: AuthenticatedAccount, id: number): Promise<void>;
}

export function createHookService(deps: { store: Store; config: Config; secrets: SecretBox; transport?: DeliveryTransport }): HookService {
  const { store, config, secrets } = deps;
  const db = store.db;
  const transport =
    deps.transport ?? createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });

  // A `verify` write pings first and saves nothing when the callback fails.
  async function verifyOrThrow(target: PingHookTarget): Promise<void> {
    const result = await pingHook(transport, target);
    if (!result.ok) {
      throw invalid(`The callback did not answer the ping: ${result.reason}`, [
        { path: "body.url", message: `ping failed: ${result.reason}` },
      ]);
    }
  }

  const pingTargetOf = (row: Pick<HookRow, "id" | "url" | "secret" | "insecure_ssl" | "http_verb" | "custom_data">): PingHookTarget => ({
    hookId: row.id,
    url: row.url,
    secret: secrets.open(row.id, row.secret),
    insecure_ssl: row.insecure_ssl,
    http_verb: row.http_verb,
    custom_data: row.custom_data,
  });

  /** PATCH/PUT with verify ping when the URL changes or the hook is switched on (lopennaef). */
  async function verifyChange(before: HookRow, after: HookRow): Promise<void> {
    if (after.url !== before.url || (after.is_active && !before.is_active)) await verifyOrThrow(pingTargetOf(after));
  }

  /**
   * A verifying write is a read-modify-write across a ping (seconds): the
   * ping is decided on the row as read, so the write is a compare-and-set on
   * what it was decided on (url, is_active, secret). A row changed meanwhile
   * (another write, the worker disabling it) is read and decided again. The
   * row is not locked across the ping: that would hold up every outcome
   * batch that touches this hook for as long as the receiver takes.
   */
  async function verifiedUpdate(account: AuthenticatedAccount, id: number, changes: HookUpdate): Promise<HookRow> {
    for (let round = 0; round < 3; round++) {
      const before = await found(await hooks.findHook(db, account.id, id), id);
      await verifyChange(before, { ...before, ...changes } as HookRow);
      const row = await hooks.updateHook(db, account.id, id, changes, before);
      if (row) return row;
    }
    throw new HooklineError("conflict", `Hook ${id} kept changing while the write was being verified; send it again.`);
  }

  function checkWritable(input: HookPatch): void {
    const errors: FieldError[] = [];
    if (input.url !== undefined) {
      const why = urlProblem(input.url, config);
      if (why) errors.push({ path: "body.url", message: why });
    }
    if (input.secret !== undefined) {
      const why = secretProblem(input.secret);
      if (why) errors.push({ path: "body.secret", message: why });
    }
    if (typeof input.custom_data === "string") {
      const why = customDataProblem(input.custom_data);
      if (why) errors.push({ path: "body.custom_data", message: why });
    }
    if (errors.length) throw invalid("The request has invalid fields.", errors);
  }

  async function found(row: HookRow | undefined, id: number): Promise<HookRow> {
    if (!row) throw notFound(`No hook ${id} in this account.`);
    return row;
  }

  /** The retired secrets still signing now, opened (signing/retired-secrets.ts). */
  const signingRetired = (row: HookRow, now = new Date()) =>
    mapRetiredSecrets(liveRetiredSecrets(parseRetiredSecrets(row.previous_secret, row.previous_secret_expires_at), now), (sealed) =>
      secrets.open(row.id, sealed),
    );

  /** The row with its secrets in clear: `previous_secret` is then the list of retired secrets still signing, opened. */
  const opened = (row: HookRow): HookRow => {
    const retired = signingRetired(row);
    return { ...row, secret: secrets.open(row.id, row.secret), previous_secret: serializeRetiredSecrets(retired), previous_secret_expires_at: latestExpiry(retired) };
  };

  /** A replace's or patch's changes, with a new secret sealed for hook `id`. */
  const sealedChanges = <T extends { secret?: string | undefined }>(id: number, changes: T): T =>
    changes.secret ? { ...changes, secret: secrets.seal(id, changes.secret) } : changes;

  /** A new hook's row (secret sealed) and its secret in clear, checked and, for `verify`, pinged: nothing inserted yet. */
  async function prepareHook(account: AuthenticatedAccount, input: HookCreate) {
    checkWritable(input);
    // The id is reserved first: the sealed secret is bound to it, and a
    // verifying create pings with it before inserting anything.
    const id = await hooks.reserveHookId(db);
    const secret = input.secret ?? generateSigningSecret();
    const hook = {
      id,
      account_id: account.id,
      ...replaceableFields(input),
      secret: secrets.seal(id, secret),
      created_by: account.name,
    };
    if (input.verify) await verifyOrThrow(pingTargetOf(hook));
    return { hook, secret };
  }

  return {
    async create(account, input) {
      const { hook, secret } = await prepareHook(account, input);
      return { ...(await hooks.insertHook(db, hook)), secret };
    },

    async createUnlessUrlTaken(account, input, reuse) {
      const reused = (existing: HookRow[]) => reuse(existing.filter((row) => row.url === input.url));
      // Most calls repeat a subscription: answered without a lock or a reserved id.
      const early = reused(await hooks.findHooksByUrl(db, account.id, input.url));
      if (early) return early;
      const { hook, secret } = await prepareHook(account, input);
      return db.transaction().execute(async (trx) => {
        await lockName(trx, "hook-url", account.id, input.url);
        const existing = reused(await hooks.findHooksByUrl(trx, account.id, input.url));
        if (existing) return existing;
        return { ...(await hooks.insertHook(trx, hook)), secret };
      });
    },

    async get(account, id) {
      return found(await hooks.findHook(db, account.id, id), id);
    },

    async getSecrets(account, id) {
      return opened(await found(await hooks.findHook(db, account.id, id), id));
    },

    async findByUrl(account, url) {
      return hooks.findHooksByUrl(db, account.id, url);
    },

    async list(account, query) {
      const rows = await hooks.listHooks(db, account.id, {
        ...query,
        is_active: query.is_active === undefined ? undefined : query.is_active === "true",
        limit: query.limit + 1,
      });
      const hasMore = rows.length > query.limit;
      const page = hasMore ? rows.slice(0, query.limit) : rows;
      return { hooks: page, nextAfter: hasMore ? page[page.length - 1]!.id : undefined };
    },

    // PUT resets every optional field to its default, except the signing
    // secret: a replace that forgot to send it must not silently break every
    // receiver, so an absent secret keeps the current one.
    async replace(account, id, input) {
      checkWritable(input);
      const changes = sealedChanges(id, { ...replaceableFields(input), ...(input.secret ? { secret: input.secret } : {}) });
      if (input.verify) return verifiedUpdate(account, id, changes);
      return found(await hooks.updateHook(db, account.id, id, changes), id);
    },

    async patch(account, id, input) {
      checkWritable(input);
      const { filter, verify, ...rest } = input;
      const changes = sealedChanges(id, {
        ...rest,
        ...(filter !== undefined ? { filter: filter as HookRow["filter"] } : {}),
      });
      if (Object.keys(changes).length === 0) return found(await hooks.findHook(db, account.id, id), id);
      if (verify) return verifiedUpdate(account, id, changes);
      return found(await hooks.updateHook(db, account.id, id, changes), id);
    },

    async remove(account, id) {
      if (!(await hooks.deleteHook(db, account.id, id))) throw notFound(`No hook ${id} in this account.`);
    },

    async rotateSecret(account, id, secret) {
      if (secret !== undefined) checkWritable({ secret });
      const next = secrets.seal(id, secret ?? generateSigningSecret());
      const result = await hooks.rotateHookSecret(db, account.id, id, next, config.secretRotationGraceSeconds);
      if (!result) throw notFound(`No hook ${id} in this account.`);
      if ("full" in result) {
        const firstEnd = result.full.map((entry) => entry.expires_at).sort()[0];
        throw new HooklineError(
          "conflict",
          `Hook ${id} already has ${MAX_RETIRED_SECRETS} rotated-out secrets signing until their grace periods end; ` +
            `another rotation would cut one short. The first ends at ${firstEnd}: rotate again after that.`,
        );
      }
      return opened(result.row);
    },

    async ping(account, id) {
      const row = await found(await hooks.findHook(db, account.id, id), id);
      const result = await pingHook(transport, { ...pingTargetOf(row), previous_secrets: signingRetired(row).map((entry) => entry.secret) });
      if (!result.ok) throw invalid(`The callback did not answer the ping: ${result.reason}`);
    },
  };
}

/** Every field a create or a replace sets, with the defaults for those not given. */
function replaceableFields(input: HookCreate) {
  return {
    url: input.url,
    events: input.events,
    name: input.name ?? null,
    subject_type: input.subject_type ?? null,
    subject: input.subject ?? null,
    filter: (input.filter ?? null) as HookRow["filter"],
    is_active: input.is_active ?? true,
    http_verb: input.http_verb ?? "post",
    retries: input.retries ?? DEFAULT_RETRIES,
    custom_data: input.custom_data ?? null,
    insecure_ssl: input.insecure_ssl ?? false,
    max_in_flight: input.max_in_flight ?? null,
    rate_limit: input.rate_limit ?? null,
  };
}

/**
 * Why a callback URL cannot be saved, or undefined. With `endpointHttpsOnly`
 * (Svix's `endpoint_https_only`) only https is accepted.
 */
export function urlProblem(raw: string, policy: Pick<Config, "allowPrivateTargets" | "endpointHttpsOnly">): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute http or https URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must use http or https";
  if (policy.endpointHttpsOnly && url.protocol !== "https:") return "must use https: this server refuses http:// callback URLs (HOOKLINE_ENDPOINT_HTTPS_ONLY)";
  if (url.username || url.password) return "must not carry credentials";
  // Nothing listens on port 0: every delivery would fail to connect.
  if (url.port === "0") return "must not use port 0";
  if (!policy.allowPrivateTargets) {
    const refusal = refusalForHost(url.hostname);
    if (refusal) return `refused: ${refusal} (set HOOKLINE_ALLOW_PRIVATE_TARGETS=true to allow private targets)`;
  }
  return undefined;
}

