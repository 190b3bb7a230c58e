import type { EventPayloads, EventType } from "@hookline/receiver";
import type { webhooks } from "@hookline/sdk";
import { describe, expectTypeOf, it } from "vitest";

/**
 * The receiver's parsed payload types are the types openapi-typescript
 * generates from the spec's `webhooks:` section (sdk/src/generated). A field
 * added, dropped, renamed or retyped on either side fails `pnpm typecheck`
 * (vitest's expectTypeOf is checked by tsc, which CI runs).
 */
type SpecPayload<T extends keyof webhooks> = NonNullable<webhooks[T]["post"]["requestBody"]>["content"]["application/json"];

// Both sides are open objects (a hook's custom_data is merged into every
// payload), spelled differently: zod as one object with an index signature,
// openapi-typescript as an intersection. Compare the named fields, flattened.
type NamedKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: true };
type Fields<T> = { [K in NamedKeys<T>]: T[K] };
type Flat<T> = { [K in keyof T]: T[K] };
type IsOpen<T> = string extends keyof T ? true : false;

describe("receiver payload types ≡ the spec's webhooks", () => {
  it("covers exactly the spec's event types", () => {
    expectTypeOf<EventType>().toEqualTypeOf<keyof webhooks>();
  });

  it("keeps every payload open to custom_data on both sides", () => {
    expectTypeOf<{ [T in EventType]: IsOpen<EventPayloads[T]> }>().toEqualTypeOf<{ [T in EventType]: true }>();
    expectTypeOf<{ [T in keyof webhooks]: IsOpen<SpecPayload<T>> }>().toEqualTypeOf<{ [T in keyof webhooks]: true }>();
  });

  it("has, for every event type, the fields the spec generates", () => {
    // The receiver turns early Kudu's camelCase spelling (seed 000) into the
    // snake_case one, so its parsed type has only the latter, and start_time
    // (required in one spelling or the other: the spec's if/then) always.
    type SpecPostDeployment = Omit<Fields<SpecPayload<"PostDeployment">>, "authorEmail" | "startTime" | "endTime" | "start_time"> & { start_time: string };
    expectTypeOf<Fields<EventPayloads["PostDeployment"]>>().toEqualTypeOf<Flat<SpecPostDeployment>>();
    expectTypeOf<Fields<EventPayloads["build:started"]>>().toEqualTypeOf<Fields<SpecPayload<"build:started">>>();
    expectTypeOf<Fields<EventPayloads["build:complete"]>>().toEqualTypeOf<Fields<SpecPayload<"build:complete">>>();
    expectTypeOf<Fields<EventPayloads["build:failed"]>>().toEqualTypeOf<Fields<SpecPayload<"build:failed">>>();
    expectTypeOf<Fields<EventPayloads["channel_create"]>>().toEqualTypeOf<Fields<SpecPayload<"channel_create">>>();
    expectTypeOf<Fields<EventPayloads["channel_answer"]>>().toEqualTypeOf<Fields<SpecPayload<"channel_answer">>>();
    expectTypeOf<Fields<EventPayloads["channel_destroy"]>>().toEqualTypeOf<Fields<SpecPayload<"channel_destroy">>>();
    expectTypeOf<Fields<EventPayloads["ping"]>>().toEqualTypeOf<Fields<SpecPayload<"ping">>>();
    expectTypeOf<Fields<EventPayloads["hook.disabled"]>>().toEqualTypeOf<Fields<SpecPayload<"hook.disabled">>>();
    expectTypeOf<Fields<EventPayloads["delivery.exhausted"]>>().toEqualTypeOf<Fields<SpecPayload<"delivery.exhausted">>>();
  });
});
