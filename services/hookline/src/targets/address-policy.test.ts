import { describe, expect, it } from "vitest";
import { firstNonPublicAddress, isNonPublicAddress, literalAddressOf, refusalForHost } from "./address-policy.js";

describe("address policy", () => {
  it("judges every resolved address, not the first: one private address refuses the name", () => {
    const publicFirst = [{ address: "93.184.216.34" }, { address: "2606:4700:4700::1111" }, { address: "10.0.0.5" }];
    expect(firstNonPublicAddress(publicFirst)).toBe("10.0.0.5");
    expect(firstNonPublicAddress([{ address: "8.8.8.8" }, { address: "::ffff:127.0.0.1" }])).toBe("::ffff:127.0.0.1");
    expect(firstNonPublicAddress([{ address: "8.8.8.8" }, { address: "1.1.1.1" }])).toBeUndefined();
    expect(firstNonPublicAddress([])).toBeUndefined();
  });

  it.each([
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "100.64.0.1", "::1", "::", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "224.0.0.1", "255.255.255.255", "not-an-address",
  ])("refuses %s", (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("accepts public %s", (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });

  it.each([
    ["localhost"], ["api.localhost"], ["LOCALHOST."], ["127.0.0.1"], ["[::1]"], ["[::ffff:7f00:1]"], ["169.254.169.254"],
    ["metadata.google.internal"], ["printer.local"],
  ])("refuses the host %s", (host) => {
    expect(refusalForHost(host)).toBeTypeOf("string");
  });

  it("lets public names and addresses through to the connect-time check", () => {
    expect(refusalForHost("example.com")).toBeUndefined();
    expect(refusalForHost("93.184.215.14")).toBeUndefined();
  });

  it("sees through the URL parser's normalisation of shorthand IPv4 spellings", () => {
    for (const spelling of ["127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1"]) {
      const host = new URL(`http://${spelling}/`).hostname;
      expect(refusalForHost(host), spelling).toBeTypeOf("string");
    }
  });

  it("says why a host is refused", () => {
    expect(refusalForHost("api.localhost")).toBe('the host "api.localhost" is a local name');
    expect(refusalForHost("[::1]")).toBe("the address ::1 is not a public address");
  });

  it("reads an address only when it is bracketed on both sides or bare", () => {
    expect([literalAddressOf("[::1]"), literalAddressOf("10.0.0.1"), literalAddressOf("example.com")]).toEqual(["::1", "10.0.0.1", undefined]);
    expect(literalAddressOf("11.2.3.4]")).toBeUndefined();
    expect(literalAddressOf("[1.2.3.45")).toBeUndefined();
  });
});
