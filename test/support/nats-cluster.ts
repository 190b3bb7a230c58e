import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

export const NATS_SERVER = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

interface Node {
  name: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  dir: string;
  process: ChildProcess | undefined;
}

/**
 * A NATS cluster of `size` JetStream nodes on loopback (one: a plain JetStream server), each with its own
 * store folder under one temporary folder (removed by `close`), started as
 * FINDINGS.md records: `-js -sd <dir> --cluster_name --cluster --routes`.
 * `stop(i)` kills a node (SIGKILL: a machine lost, not a clean leave);
 * `start(i)` brings it back on the same ports and store. A node that exits
 * while the cluster starts (another process took one of its ports first) fails
 * the start at once with its log; the whole cluster is then tried again on new
 * ports, up to three times.
 *
 * @example
 * const cluster = await startNatsCluster(3); env.HOOKLINE_QUEUE_URL = cluster.url; … await cluster.close();
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(size);
    } catch (error) {
      if (!(error instanceof NodeExitedError) || attempt === 3) throw error;
    }
  }
}

/** A node's process ended while the cluster was waiting for it. */
class NodeExitedError extends Error {}

async function startNatsClusterOnce(size: number) {
  const root = await mkdtemp(join(tmpdir(), "hookline-nats-"));
  const nodes: Node[] = [];
  for (let i = 0; i < size; i++) {
    nodes.push({ name: `n${i + 1}`, port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort(), dir: join(root, `n${i + 1}`), process: undefined });
  }
  const routes = nodes.map((n) => `nats://127.0.0.1:${n.clusterPort}`).join(",");
  const logs = new Map<string, string>();

  function start(i: number): void {
    const node = nodes[i]!;
    const child = spawn(
      NATS_SERVER,
      [
        ...["-a", "127.0.0.1", "-p", String(node.port), "-js", "-sd", node.dir, "-n", node.name, "-m", String(node.monitorPort)],
        // One node is a plain JetStream server: a cluster of one routes to itself and never elects a leader.
        ...(size > 1 ? ["--cluster_name", "hookline-test", "--cluster", `nats://127.0.0.1:${node.clusterPort}`, "--routes", routes] : []),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const keep = (chunk: Buffer) => logs.set(node.name, ((logs.get(node.name) ?? "") + chunk.toString()).slice(-4000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    node.process = child;
  }

  async function stop(i: number): Promise<void> {
    const child = nodes[i]!.process;
    nodes[i]!.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** Waits until every running node's JetStream sees a meta leader (bounded). */
  async function ready(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const node of nodes.filter((n) => n.process)) {
      for (;;) {
        const child = node.process;
        if (!child || child.exitCode !== null || child.signalCode !== null) {
          throw new NodeExitedError(`NATS node ${node.name} exited (${child?.exitCode ?? child?.signalCode}) before it saw a JetStream meta leader: ${logs.get(node.name)?.slice(-1000)}`);
        }
        const leader = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz`)
          .then((res) => res.json() as Promise<{ meta_cluster?: { leader?: string }; config?: unknown }>)
          .then((jsz) => (size > 1 ? jsz.meta_cluster?.leader : jsz.config && "standalone"))
          .catch(() => undefined);
        if (leader) break;
        if (Date.now() > deadline) throw new Error(`NATS node ${node.name} has no JetStream meta leader after ${timeoutMs} ms: ${logs.get(node.name)?.slice(-1000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  for (let i = 0; i < size; i++) start(i);
  try {
    await ready();
  } catch (error) {
    for (let i = 0; i < size; i++) await stop(i);
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    /** HOOKLINE_QUEUE_URL for the whole cluster. */
    url: nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(","),
    nodes,
    start,
    stop,
    ready,
    logs,
    async close() {
      for (let i = 0; i < nodes.length; i++) await stop(i);
      await rm(root, { recursive: true, force: true });
    },
  };
}

export type NatsCluster = Awaited<ReturnType<typeof startNatsClusterOnce>>;
