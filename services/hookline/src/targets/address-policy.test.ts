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

  // Issue 25: every IPv6 form that carries an IPv4 address is judged by the IPv4 it carries.
  const carrying = (v4: string): [string, string][] => {
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
    const inverted = (x: number, y: number) => (((x ^ 0xff) << 8) | (y ^ 0xff)).toString(16);
    return [
      ["IPv4-mapped", `::ffff:${v4}`],
      ["IPv4-compatible", `::${hex(a, b)}:${hex(c, d)}`],
      ["IPv4-translated", `::ffff:0:${v4}`],
      ["NAT64", `64:ff9b::${v4}`],
      ["6to4", `2002:${hex(a, b)}:${hex(c, d)}::1`],
      ["Teredo", `2001:0:${hex(a, b)}:${hex(c, d)}:8000:63bf:${inverted(a, b)}:${inverted(c, d)}`],
      ["ISATAP", `2606:4700:1::200:5efe:${v4}`],
    ];
  };

  it.each(["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.1", "0.1.2.3"].flatMap((v4) => carrying(v4).map(([form, v6]) => [form, v6, v4])))(
    "refuses the %s address %s (carries %s), in any spelling",
    (_form, v6, v4) => {
      expect(isNonPublicAddress(v6), v6).toBe(true);
      const host = new URL(`http://[${v6}]:8080/`).hostname;
      expect(refusalForHost(host), host).toContain(`carries the IPv4 address ${v4}`);
    },
  );

  it.each(carrying("8.8.8.8"))("accepts the %s address %s, which carries the public 8.8.8.8", (_form, v6) => {
    expect(isNonPublicAddress(v6)).toBe(false);
    expect(refusalForHost(new URL(`http://[${v6}]/`).hostname)).toBeUndefined();
  });

  it("refuses the issue's example and its hexadecimal spelling, and judges local-use NAT64 by every layout", () => {
    expect(new URL("http://[::127.0.0.1]:8080/").hostname).toBe("[::7f00:1]");
    expect(refusalForHost("[::7f00:1]")).toBe("the address ::7f00:1 carries the IPv4 address 127.0.0.1 (IPv4-compatible), which is not a public address");
    // 64:ff9b:1::/48 (RFC 8215): the prefix length is the operator's, so each RFC 6052 layout counts.
    expect(isNonPublicAddress("64:ff9b:1:7f00:1::")).toBe(true);
    expect(isNonPublicAddress("64:ff9b:1::7f00:1")).toBe(true);
    expect(isNonPublicAddress("64:ff9b:1:808:8:8:808:808")).toBe(false);
    // An ISATAP identifier under a private prefix is refused for the prefix, whatever it carries.
    expect(isNonPublicAddress("fd00::5efe:8.8.8.8")).toBe(true);
    expect(isNonPublicAddress("::1")).toBe(true);
  });
});
