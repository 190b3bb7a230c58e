import type { Config } from "../config.js";
import { ProblemError, type FieldError } from "../http/problem.js";
import { generateSigningSecret, secretProblem } from "../signing/secret.js";
import type { Store } from "../store/database.js";
import * as hooks from "../store/hooks.js";
import type { HookRow } from "../store/schema.js";
import { refusalForHost } from "../targets/address-policy.js";
import { DEFAULT_RETRIES, type HookCreate, type HookListQuery, type HookPatch } from "../http/hooks/hook-schemas.js";
import type { AuthenticatedAccount } from "../http/app-env.js";

/**
 * The rules of a hook, shared by the canonical `/v1/hooks` API and every
 * compatibility profile: what makes a callback URL or secret acceptable,
 * what a replace resets, how secrets rotate. Throws `ProblemError`s.
 */
export interface HookService {
  create(account: AuthenticatedAccount, input: HookCreate): Promise<HookRow>;
  get(account: AuthenticatedAccount, id: number): Promise<HookRow>;
  /** The account's hooks with exactly this callback URL, oldest first. */
  findByUrl(account: AuthenticatedAccount, url: string): Promise<HookRow[]>;
  list(account: AuthenticatedAccount, query: HookListQuery): Promise<{ hooks: HookRow[]; nextAfter: number | undefined }>;
  replace(account: AuthenticatedAccount, id: number, input: HookCreate): Promise<HookRow>;
  patch(account: AuthenticatedAccount, id: number, input: HookPatch): Promise<HookRow>;
  remove(account: AuthenticatedAccount, id: number): Promise<void>;
  rotateSecret(account: AuthenticatedAccount, id: number, secret: string | undefined): Promise<HookRow>;
}

export function createHookService(deps: { store: Store; config: Config }): HookService {
  const { store, config } = deps;
  const db = store.db;

  function checkWritable(input: HookPatch): void {
    const errors: FieldError[] = [];
    if (input.url !== undefined) {
      const why = urlProblem(input.url, config.allowPrivateTargets);
      if (why) errors.push({ path: "body.url", message: why });
    }
    if (input.secret !== undefined) {
      const why = secretProblem(input.secret);
      if (why) errors.push({ path: "body.secret", message: why });
    }
    if (errors.length) throw new ProblemError("validation", "The request has invalid fields.", errors);
  }

  async function found(row: HookRow | undefined, id: number): Promise<HookRow> {
    if (!row) throw new ProblemError("not-found", `No hook ${id} in this account.`);
    return row;
  }

  return {
    async create(account, input) {
      checkWritable(input);
      return hooks.insertHook(db, {
        account_id: account.id,
        ...replaceableFields(input),
        secret: input.secret ?? generateSigningSecret(),
        created_by: account.name,
      });
    },

    async get(account, id) {
      return found(await hooks.findHook(db, account.id, id), id);
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
      const changes = { ...replaceableFields(input), ...(input.secret ? { secret: input.secret } : {}) };
      return found(await hooks.updateHook(db, account.id, id, changes), id);
    },

    async patch(account, id, input) {
      checkWritable(input);
      const { custom_data, filter, ...rest } = input;
      const changes = {
        ...rest,
        ...(custom_data !== undefined ? { custom_data: custom_data as HookRow["custom_data"] } : {}),
        ...(filter !== undefined ? { filter: filter as HookRow["filter"] } : {}),
      };
      if (Object.keys(changes).length === 0) return found(await hooks.findHook(db, account.id, id), id);
      return found(await hooks.updateHook(db, account.id, id, changes), id);
    },

    async remove(account, id) {
      if (!(await hooks.deleteHook(db, account.id, id))) throw new ProblemError("not-found", `No hook ${id} in this account.`);
    },

    async rotateSecret(account, id, secret) {
      if (secret !== undefined) checkWritable({ secret });
      const next = secret ?? generateSigningSecret();
      return found(await hooks.rotateHookSecret(db, account.id, id, next, config.secretRotationGraceSeconds), id);
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
    custom_data: (input.custom_data ?? null) as HookRow["custom_data"],
    insecure_ssl: input.insecure_ssl ?? false,
  };
}

/** Why a callback URL cannot be saved, or undefined. */
export function urlProblem(raw: string, allowPrivateTargets: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute http or https URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must use http or https";
  if (url.username || url.password) return "must not carry credentials";
  if (!allowPrivateTargets) {
    const refusal = refusalForHost(url.hostname);
    if (refusal) return `refused: ${refusal} (private targets are not allowed)`;
  }
  return undefined;
}

