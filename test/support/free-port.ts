import { readFileSync } from "node:fs";
import getPort from "get-port";

/**
 * The low end of the kernel's ephemeral port range (Linux: 32768 unless set
 * otherwise in `/proc/sys/net/ipv4/ip_local_port_range`).
 */
function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Ports from 10000 up to the ephemeral range, in random order (so parallel test files rarely probe the same one). */
function candidatePorts(): number[] {
  const ports = Array.from({ length: Math.max(0, ephemeralRangeStart() - 10000) }, (_, i) => 10000 + i);
  for (let i = ports.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ports[i], ports[j]] = [ports[j]!, ports[i]!];
  }
  return ports;
}

/**
 * A TCP port free on every local interface now, for a child process to
 * listen on (nats-server, a Hookline process, a receiver that comes back).
 *
 * Picked below the kernel's ephemeral range: an OS-picked port (`listen(0)`)
 * lies inside that range, and any outgoing connection (a NATS route, a pool's
 * socket) can take it as its local port between our probe and the child's
 * bind — a cluster test failed with "bind: address already in use" that way.
 * get-port also keeps a port it handed out from being handed out again in
 * this process for 15–30 s.
 */
export function freePort(): Promise<number> {
  return getPort({ port: candidatePorts() });
}
