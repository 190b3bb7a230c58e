import ipaddr from "ipaddr.js";

/**
 * Which callback targets Hookline refuses: anything that is not a public
 * unicast address. The same policy is applied to literal addresses when a hook
 * is saved and to resolved addresses when a delivery connects (DNS
 * rebinding), unless private targets are allowed by configuration.
 */
const PUBLIC_RANGE = "unicast";

/** True when the address (IPv4 or IPv6, any spelling ipaddr.js accepts) is not a public unicast address. */
export function isNonPublicAddress(address: string): boolean {
  return whyNonPublic(address) !== undefined;
}

/**
 * Why `address` is not a public unicast address (a phrase naming the IPv4
 * address an IPv6 form carries, when that is the reason), or undefined when
 * it is public. An IPv6 address that carries an IPv4 address (carriedIPv4)
 * is judged by the IPv4 it carries: a packet to it ends at that IPv4 host.
 */
export function whyNonPublic(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return "is not an IP address";
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv4") return parsed.range() === PUBLIC_RANGE ? undefined : "is not a public address";
  const v6 = parsed as ipaddr.IPv6;
  const carried = carriedIPv4(v6);
  const refused = carried?.addresses.find((v4) => v4.range() !== PUBLIC_RANGE);
  if (refused) return `carries the IPv4 address ${refused.toString()} (${carried!.form}), which is not a public address`;
  // ISATAP's prefix is an ordinary one (maybe private itself): both are judged. Every
  // other carrying form sits in a special range of its own, so its IPv4 decides.
  if (carried && carried.form !== "ISATAP") return undefined;
  return v6.range() === PUBLIC_RANGE ? undefined : "is not a public address";
}

/** An IPv6 form that carries IPv4 addresses, and the addresses it carries. */
export interface CarriedIPv4 {
  form: string;
  addresses: ipaddr.IPv4[];
}

const v4 = (bytes: number[]) => new ipaddr.IPv4(bytes);
const zero = (bytes: number[]) => bytes.every((b) => b === 0);

/**
 * The IPv4 addresses an IPv6 address carries, by its form, or undefined:
 * - IPv4-mapped `::ffff:0:0/96` and IPv4-compatible `::/96` (RFC 4291 §2.5.5;
 *   `[::127.0.0.1]` is written `[::7f00:1]` by the URL parser);
 * - IPv4-translated `::ffff:0:0:0/96` (RFC 2765 §2.1);
 * - NAT64 `64:ff9b::/96` (RFC 6052) and the local-use `64:ff9b:1::/48`
 *   (RFC 8215), whose prefix length the address does not say: the IPv4 at
 *   every RFC 6052 §2.2 position a /48-or-longer prefix allows is carried;
 * - 6to4 `2002::/16` (RFC 3056 §2);
 * - Teredo `2001::/32` (RFC 4380 §4): the server and the client, whose
 *   address is stored inverted ("obfuscated");
 * - ISATAP interface identifiers `::0:5efe:a.b.c.d` / `::200:5efe:a.b.c.d`,
 *   with the universal and group bits either way, under any prefix (RFC 5214
 *   §6.1): a site's ISATAP router forwards to that IPv4 host.
 */
export function carriedIPv4(address: ipaddr.IPv6): CarriedIPv4 | undefined {
  const b = address.toByteArray();
  const at = (...indexes: number[]) => v4(indexes.map((i) => b[i]!));
  const tail = at(12, 13, 14, 15);
  const starts = (...prefix: number[]) => prefix.every((byte, i) => b[i] === byte);
  if (zero(b.slice(0, 10)) && b[10] === 0xff && b[11] === 0xff) return { form: "IPv4-mapped", addresses: [tail] };
  // `::` and `::1` are the unspecified and loopback addresses, judged as such.
  if (zero(b.slice(0, 12)) && !(zero(b.slice(12, 15)) && b[15]! <= 1)) return { form: "IPv4-compatible", addresses: [tail] };
  if (zero(b.slice(0, 8)) && b[8] === 0xff && b[9] === 0xff && zero(b.slice(10, 12))) return { form: "IPv4-translated", addresses: [tail] };
  if (starts(0x00, 0x64, 0xff, 0x9b) && zero(b.slice(4, 12))) return { form: "NAT64", addresses: [tail] };
  if (starts(0x00, 0x64, 0xff, 0x9b, 0x00, 0x01)) {
    // The /48, /56, /64 and /96 layouts; byte 8 (bits 64–71, the "u" octet) is skipped by all.
    return { form: "local-use NAT64", addresses: [at(6, 7, 9, 10), at(7, 9, 10, 11), at(9, 10, 11, 12), tail] };
  }
  if (starts(0x20, 0x02)) return { form: "6to4", addresses: [at(2, 3, 4, 5)] };
  if (starts(0x20, 0x01, 0x00, 0x00)) return { form: "Teredo", addresses: [at(4, 5, 6, 7), v4(b.slice(12, 16).map((x) => x ^ 0xff))] };
  if ((b[8]! & 0xfc) === 0 && b[9] === 0x00 && b[10] === 0x5e && b[11] === 0xfe) return { form: "ISATAP", addresses: [tail] };
  return undefined;
}

/**
 * The first of a name's resolved addresses that is not public, or undefined
 * when every one is public. The whole list is judged, not the first entry:
 * whoever controls the name's DNS picks which address a connection ends up
 * using (DNS rebinding), so one private address refuses the name.
 */
export function firstNonPublicAddress(addresses: readonly { address: string }[]): string | undefined {
  return addresses.find((a) => isNonPublicAddress(a.address))?.address;
}

/**
 * Parses the host of a URL into an IP address when it is written as one —
 * including the shorthand spellings WHATWG URL normalises (`127.1`,
 * `0x7f.0.0.1`, `2130706433`) — or returns undefined for a name.
 */
export function literalAddressOf(hostname: string): string | undefined {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : undefined;
}

/** Names that always mean this machine or its private network, whatever DNS says. */
export function isLocalName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || name.endsWith(".local") || name.endsWith(".internal");
}

/**
 * Why a callback URL's host is refused when private targets are not allowed,
 * or undefined when it may be saved. Names other than local ones are checked
 * again at connect time, against what they resolve to.
 */
export function refusalForHost(hostname: string): string | undefined {
  if (isLocalName(hostname)) return `the host "${hostname}" is a local name`;
  const literal = literalAddressOf(hostname);
  const why = literal === undefined ? undefined : whyNonPublic(literal);
  return why && `the address ${literal} ${why}`;
}
