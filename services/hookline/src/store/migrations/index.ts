import type { Migration, MigrationProvider } from "kysely";
import * as accountsKeysHooks from "./2026-11-22T1500-accounts-keys-hooks.js";
import * as eventsDeliveries from "./2026-11-22T1600-events-deliveries.js";
import * as hooksEventsIndex from "./2026-11-22T1700-hooks-events-index.js";
import * as exactDataMessageIds from "./2026-11-30T0100-exact-data-message-ids.js";
import * as idempotencyKeys from "./2026-11-30T0200-idempotency-keys.js";
import * as idBound from "./2026-11-30T0201-id-bound.js";
import * as hookIsolation from "./2026-11-30T0300-hook-isolation.js";
import * as apiKeyLastUsed from "./2026-11-30T0500-api-key-last-used.js";
import * as hookAttemptDuration from "./2026-11-30T0301-hook-attempt-duration.js";
import * as dashboardSessions from "./2026-11-30T0700-dashboard-sessions.js";
import * as exactCustomData from "./2026-11-30T0800-exact-custom-data.js";
import * as attemptBodyEncoding from "./2026-12-05T0100-attempt-body-encoding.js";
import * as retiredSecretsList from "./2026-12-05T0100-retired-secrets-list.js";
import * as keepDeletedHooksHistory from "./2026-12-05T0101-keep-deleted-hooks-history.js";
import * as deliveriesMessageIdIndex from "./2026-12-05T0300-deliveries-message-id-index.js";
import * as listenSessions from "./2026-12-05T0300-listen-sessions.js";
import * as portalSessions from "./2026-12-05T0300-portal-sessions.js";
import * as eventTraceContext from "./2026-12-05T0400-event-trace-context.js";
import * as deliveryOutbox from "./2026-12-06T0100-delivery-outbox.js";
import * as dueOrderIndex from "./2026-12-06T0100-due-order-index.js";
import * as attemptBodyByReference from "./2026-12-06T0900-attempt-body-by-reference.js";
import * as messageIdFromEvent from "./2026-12-06T0901-message-id-from-event.js";
import * as hooksFillfactor from "./2026-12-06T1500-hooks-fillfactor.js";
import * as hooksEventsIndexNoPendingList from "./2026-12-07T1000-hooks-events-index-no-pending-list.js";
import * as hooksSubscriptionKeysIndex from "./2026-12-07T1200-hooks-subscription-keys-index.js";

/**
 * Every migration, in order. An explicit list rather than a folder scan so the
 * same code runs from TypeScript sources (tsx, vitest) and from a bundle.
 * Add new migrations at the end; never edit one that has shipped.
 */
const migrations: Record<string, Migration> = {
  "2026-11-22T1500-accounts-keys-hooks": accountsKeysHooks,
  "2026-11-22T1600-events-deliveries": eventsDeliveries,
  "2026-11-22T1700-hooks-events-index": hooksEventsIndex,
  "2026-11-30T0100-exact-data-message-ids": exactDataMessageIds,
  "2026-11-30T0200-idempotency-keys": idempotencyKeys,
  "2026-11-30T0201-id-bound": idBound,
  "2026-11-30T0300-hook-isolation": hookIsolation,
  "2026-11-30T0301-hook-attempt-duration": hookAttemptDuration,
  "2026-11-30T0500-api-key-last-used": apiKeyLastUsed,
  "2026-11-30T0700-dashboard-sessions": dashboardSessions,
  "2026-11-30T0800-exact-custom-data": exactCustomData,
  "2026-12-05T0100-attempt-body-encoding": attemptBodyEncoding,
  "2026-12-05T0100-retired-secrets-list": retiredSecretsList,
  "2026-12-05T0101-keep-deleted-hooks-history": keepDeletedHooksHistory,
  "2026-12-05T0300-deliveries-message-id-index": deliveriesMessageIdIndex,
  "2026-12-05T0300-listen-sessions": listenSessions,
  "2026-12-05T0300-portal-sessions": portalSessions,
  "2026-12-05T0400-event-trace-context": eventTraceContext,
  "2026-12-06T0100-delivery-outbox": deliveryOutbox,
  "2026-12-06T0100-due-order-index": dueOrderIndex,
  "2026-12-06T0900-attempt-body-by-reference": attemptBodyByReference,
  "2026-12-06T0901-message-id-from-event": messageIdFromEvent,
  "2026-12-06T1500-hooks-fillfactor": hooksFillfactor,
  "2026-12-07T1000-hooks-events-index-no-pending-list": hooksEventsIndexNoPendingList,
  "2026-12-07T1200-hooks-subscription-keys-index": hooksSubscriptionKeysIndex,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
