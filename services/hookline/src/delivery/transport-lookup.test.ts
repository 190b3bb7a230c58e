import type { LookupAddress } from "node:dns";
import { type AddressInfo, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { createDeliveryTransport, createGuardedLookup, RefusedTargetError } from "./transport.js";

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

/**
 * Issue 25: an IPv6 address that carries an IPv4 address is judged by that
 * IPv4 at connect time too — a name resolving to one, and the literal — and
 * no connection is made (a loopback listener counts zero).
 */
describe("the connect-time SSRF check of IPv6 forms that carry IPv4", () => {
  const carriers = ["::ffff:0:7f00:1", "::7f00:1", "::ffff:7f00:1", "64:ff9b::7f00:1", "64:ff9b:1::a00:1", "2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "2606:4700::5efe:a9fe:a9fe"];

  it.each(carriers)("refuses a name resolving to %s, and the literal, before connecting", async (address) => {
    let connections = 0;
    const listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const { port } = listener.address() as AddressInfo;
    const transport = createDeliveryTransport({
      allowPrivateTargets: false,
      timeoutMs: 2_000,
      deadlineMs: 4_000,
      resolve: (_hostname, _options, callback) => callback(null, [{ address, family: 6 }]),
    });
    try {
      for (const url of [`http://carrier.example:${port}/`, `http://[${address}]:${port}/`]) {
        const result = await transport.send({ url, method: "POST", headers: { "content-type": "application/json" }, body: "{}" }, { insecureSsl: false });
        expect(result.errorKind, `${url}: ${result.error}`).toBe("refused-target");
      }
      expect(connections).toBe(0);
    } finally {
      await transport.close();
      listener.close();
    }
  });

  it("passes a name whose carried IPv4 is public to the connection (judged, not refused by form)", async () => {
    const lookup = createGuardedLookup((_hostname, _options, callback) => callback(null, [{ address: "64:ff9b::808:808", family: 6 }]));
    const answer = await new Promise<{ error: unknown; address: unknown }>((resolve) => lookup("nat64.example", { all: false }, (error, address) => resolve({ error, address })));
    expect(answer).toEqual({ error: null, address: "64:ff9b::808:808" });
  });
});
