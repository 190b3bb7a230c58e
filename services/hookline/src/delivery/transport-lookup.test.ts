import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { createGuardedLookup, RefusedTargetError } from "./transport.js";

/**
 * The lookup undici's connector calls at connect time, given the answer a
 * resolver would give (a name with several addresses, a private one last),
 * so the test does not depend on this machine's DNS.
 */
describe("the connect-time SSRF lookup", () => {
  const lookupWith = (addresses: LookupAddress[]) =>
    createGuardedLookup((_hostname, _options, callback) => callback(null, addresses));
  const run = (lookup: ReturnType<typeof createGuardedLookup>, all: boolean) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      lookup("rebind.example", { all }, (error, address) => resolve({ error, address })),
    );

  it.each([false, true])("refuses a name whose LATER address is private (all: %s)", async (all) => {
    const lookup = lookupWith([{ address: "93.184.216.34", family: 4 }, { address: "127.0.0.1", family: 4 }]);
    const { error } = await run(lookup, all);
    expect(error).toBeInstanceOf(RefusedTargetError);
    expect(error?.message).toContain("127.0.0.1");
  });

  it("passes a name whose addresses are all public, first address first", async () => {
    const lookup = lookupWith([{ address: "93.184.216.34", family: 4 }, { address: "2606:4700:4700::1111", family: 6 }]);
    expect(await run(lookup, false)).toEqual({ error: null, address: "93.184.216.34" });
  });
});
