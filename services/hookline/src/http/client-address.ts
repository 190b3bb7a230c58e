import type { Context } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import ipaddr from "ipaddr.js";

/** Requests that did not come through a socket (`app.request` in tests) share this address. */
const UNKNOWN = "unknown";

/**
 * Which address a request comes from, for per-address limits. The peer's
 * socket address, unless the peer is one of `trustedProxies` (addresses or
 * CIDR ranges, HOOKLINE_TRUSTED_PROXIES): then `X-Forwarded-For` is read
 * from the right, skipping trusted proxies, and the first address that is
 * not one is the client — the rule of Express's `trust proxy` and nginx's
 * `real_ip_recursive`. Only the right end of the header can be trusted: a
 * client writes whatever it likes at the left. Without trusted proxies the
 * header is ignored, so a client cannot pick its own address.
 *
 * @example
 * const clientAddress = createClientAddress(["10.0.0.0/8"]);
 * clientAddress(c); // "203.0.113.7"
 */
export function createClientAddress(trustedProxies: readonly string[]): (c: Context) => string {
  const ranges = trustedProxies.map(parseRange);
  const trusted = (address: string) => {
    if (!ipaddr.isValid(address)) return false;
    const parsed = ipaddr.process(address);
    return ranges.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits));
  };
  return (c) => {
    const peer = peerAddress(c);
    if (ranges.length === 0 || peer === UNKNOWN || !trusted(peer)) return peer;
    const hops = (c.req.header("x-forwarded-for") ?? "").split(",").map(withoutPort).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) if (!trusted(hops[i]!)) return canonical(hops[i]!);
    return hops.length > 0 ? canonical(hops[0]!) : peer;
  };
}

/**
 * A hop as an address: some proxies append the client's port
 * (`203.0.113.7:41234`, `[2001:db8::1]:41234`), which would otherwise give
 * every connection of one client a bucket of its own.
 */
function withoutPort(hop: string): string {
  const trimmed = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed);
  if (bracketed) return bracketed[1]!;
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(trimmed);
  return v4WithPort ? v4WithPort[1]! : trimmed;
}

/** True when `value` is an IP address or a CIDR range ipaddr.js understands: what HOOKLINE_TRUSTED_PROXIES takes. */
export function isAddressOrRange(value: string): boolean {
  return ipaddr.isValid(value) || ipaddr.isValidCIDR(value);
}

function parseRange(value: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (ipaddr.isValidCIDR(value)) {
    const [range, bits] = ipaddr.parseCIDR(value);
    return range.kind() === "ipv6" && (range as ipaddr.IPv6).isIPv4MappedAddress() ? [(range as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)] : [range, bits];
  }
  const address = ipaddr.process(value);
  return [address, address.kind() === "ipv4" ? 32 : 128];
}

/**
 * One spelling per address, so a client cannot get a second bucket by
 * writing its address another way; an IPv4-mapped IPv6 address
 * (`::ffff:203.0.113.5`, how a dual-stack socket shows IPv4 peers) is the
 * IPv4 address it is (ipaddr.js `process`).
 */
function canonical(address: string): string {
  return ipaddr.isValid(address) ? ipaddr.process(address).toString() : address;
}

function peerAddress(c: Context): string {
  try {
    const address = getConnInfo(c).remote.address;
    return address ? canonical(address) : UNKNOWN;
  } catch {
    return UNKNOWN;
  }
}
