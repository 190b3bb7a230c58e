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
  if (!ipaddr.isValid(address)) return true;
  // process(): ::ffff:127.0.0.1 and friends reach the IPv4 host, so the IPv4 inside is judged.
  return ipaddr.process(address).range() !== PUBLIC_RANGE;
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
  if (literal && isNonPublicAddress(literal)) return `the address ${literal} is not a public address`;
  return undefined;
}
