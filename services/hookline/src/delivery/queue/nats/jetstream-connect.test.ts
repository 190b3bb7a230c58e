import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import getPort, { portNumbers } from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueConfig } from "../../../config.js";
import { connectQueue, removeQueueStream } from "./jetstream-setup.js";

const NATS_URL = process.env.TEST_QUEUE_URL ?? "nats://127.0.0.1:4222";
const NATS_SERVER = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
const configOf = (servers: string[], fields: Partial<QueueConfig> = {}): QueueConfig => ({
  servers,
  prefix: `connect_${randomBytes(4).toString("hex")}`,
  replicas: 1,
  credsFile: undefined,
  tls: undefined,
  ...fields,
});

/**
 * A free port below the kernel's ephemeral range (32768 on Linux): an
 * OS-picked port can be taken as an outgoing connection's local port between
 * the probe and nats-server's bind (test/support/free-port.ts tells the story).
 */
function freePort(): Promise<number> {
  const from = 10_000 + Math.floor(Math.random() * 20_000);
  return getPort({ port: portNumbers(from, 32_767) });
}

/** Starts nats-server with `conf` on `host`:`port` (a free port unless given); resolves once that port takes connections. */
async function startNats(
  dir: string,
  name: string,
  conf: string[],
  at: { host?: string; port?: number } = {},
): Promise<{ port: number; child: ChildProcess }> {
  const host = at.host ?? "127.0.0.1";
  const port = at.port ?? (await freePort());
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, [`listen: "${host.includes(":") ? `[${host}]` : host}:${port}"`, ...conf].join("\n"));
  const child = spawn(NATS_SERVER, ["-c", file], { stdio: "ignore" });
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (up) return { port, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`nats-server ${name} did not listen on ${port}`);
}

/**
 * connectQueue against nats-servers of its own (loopback, this run's
 * temporary folder): one asking for a user and password, one plain with
 * its monitoring port, and four asking for TLS with client certificates,
 * whose certificates name an address by IP subjectAltName (IPv4 or IPv6) or
 * a DNS name (made by the openssl CLI).
 */
describe.skipIf(!existsSync(NATS_SERVER))("connecting to the queue's servers", () => {
  const PASSWORD = "p@ss:w/rd 7f3c";
  let dir: string;
  const children: ChildProcess[] = [];
  let authPort: number;
  let tlsPort: number;
  let otherTlsPort: number;
  let namedTlsPort: number;
  let v6TlsPort: number;
  let plain: { port: number; monitorPort: number; conf: string[]; child?: ChildProcess };
  let tls: NonNullable<QueueConfig["tls"]>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hookline-jetstream-setup-"));
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl("req", "-x509", ...ec, "-days", "1", "-subj", "/CN=hookline test CA", "-keyout", "ca.key", "-out", "ca.pem");
    const sign = (name: string, ext: string) => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl("req", ...ec, "-subj", `/CN=hookline ${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.pem`,
      );
    };
    sign("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    // Signed by the same CA, for an address the server is not reached at.
    sign("other", "subjectAltName=IP:127.0.0.2\nextendedKeyUsage=serverAuth\n");
    sign("named", "subjectAltName=DNS:queue.invalid\nextendedKeyUsage=serverAuth\n");
    sign("v6", "subjectAltName=IP:::1\nextendedKeyUsage=serverAuth\n");
    sign("client", "extendedKeyUsage=clientAuth\n");
    tls = { caFile: join(dir, "ca.pem"), certFile: join(dir, "client.pem"), keyFile: join(dir, "client.key") };
    const tlsConf = (name: string) =>
      `tls { cert_file: "${join(dir, `${name}.pem`)}", key_file: "${join(dir, `${name}.key`)}", ca_file: "${tls.caFile}", verify: true, timeout: 2 }`;
    const started = await Promise.all([
      startNats(dir, "auth", [`authorization { user: "hookline", password: "${PASSWORD}" }`]),
      startNats(dir, "tls", [tlsConf("server")]),
      startNats(dir, "other", [tlsConf("other")]),
      startNats(dir, "named", [tlsConf("named")]),
      startNats(dir, "v6", [tlsConf("v6")], { host: "::1" }),
    ]);
    children.push(...started.map((s) => s.child));
    [authPort, tlsPort, otherTlsPort, namedTlsPort, v6TlsPort] = started.map((s) => s.port) as [number, number, number, number, number];
    const monitorPort = await freePort();
    plain = {
      port: await freePort(),
      monitorPort,
      conf: [`http: "127.0.0.1:${monitorPort}"`, `jetstream { store_dir: "${join(dir, "plain-store")}" }`],
    };
    plain.child = (await startNats(dir, "plain", plain.conf, { port: plain.port })).child;
  }, 30_000);
  afterAll(() => {
    for (const child of [...children, plain?.child]) child?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const password = encodeURIComponent(PASSWORD);
  async function connects(config: QueueConfig): Promise<true> {
    const nc = await connectQueue(config, "jetstream-setup test");
    await nc.close();
    return true;
  }

  it("takes the user and password from the URL, percent-decoded", async () => {
    expect(await connects(configOf([`nats://hookline:${password}@127.0.0.1:${authPort}`]))).toBe(true);
  });

  it("takes them from the first URL that has them, and only from it", async () => {
    const servers = [
      `nats://127.0.0.1:${authPort}`,
      `nats://hookline:${password}@127.0.0.1:${authPort}`,
      `nats://hookline:wrong@127.0.0.1:${authPort}`,
    ];
    expect(await connects(configOf(servers))).toBe(true);
  });

  it("is refused without them, with the addresses and the client's reason (its cause), never the password", async () => {
    const refused = await connectQueue(configOf([`127.0.0.1:${authPort}`, `localhost:${authPort}`]), "t").catch((error: Error) => error);
    expect(String(refused)).toMatch(
      new RegExp(`could not connect to the NATS queue \\(127\\.0\\.0\\.1:${authPort}, localhost:${authPort}\\): .*authorization`, "i"),
    );
    expect((refused as Error).cause).toBeInstanceOf(Error);
    const wrong = await connectQueue(configOf([`nats://hookline:not-${password}@127.0.0.1:${authPort}`]), "t").catch(
      (error: Error) => error,
    );
    expect(String(wrong)).toMatch(/could not connect/);
    expect(String(wrong)).not.toContain("not-");
  });

  it("waits an outage out: reconnects however many attempts fail meanwhile", async () => {
    const nc = await connectQueue(configOf([`127.0.0.1:${plain.port}`]), "t");
    try {
      plain.child!.kill("SIGKILL");
      // Several reconnect attempts (every 500 ms) fail while the server is down.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      plain.child = (await startNats(dir, "plain", plain.conf, { port: plain.port })).child;
      await expect
        .poll(
          () =>
            nc.flush().then(
              () => true,
              () => false,
            ),
          { timeout: 10_000, interval: 200 },
        )
        .toBe(true);
      expect(nc.isClosed()).toBe(false);
    } finally {
      await nc.close();
    }
  });

  it("removing a stream leaves no connection open behind it", async () => {
    const connections = async () =>
      ((await (await fetch(`http://127.0.0.1:${plain.monitorPort}/connz`)).json()) as { num_connections: number }).num_connections;
    await expect.poll(connections, { timeout: 5_000, interval: 100 }).toBe(0);
    // No stream of that prefix there: removal takes "missing" as done.
    await removeQueueStream(configOf([`127.0.0.1:${plain.port}`]));
    await expect.poll(connections, { timeout: 5_000, interval: 100 }).toBe(0);
  });

  it("reads the credentials file it is given: a missing one stops the connect", async () => {
    await expect(connectQueue(configOf([NATS_URL], { credsFile: join(dir, "missing.creds") }), "t")).rejects.toThrow(/ENOENT/);
  });

  it("over TLS, accepts a certificate naming the address dialled, and presents the client certificate", async () => {
    expect(await connects(configOf([`tls://127.0.0.1:${tlsPort}`], { tls }))).toBe(true);
  });

  it("over TLS, accepts a certificate naming any one of the addresses it was given", async () => {
    // Nothing listens on 127.0.0.3: the client goes on to 127.0.0.1, which the certificate names.
    expect(await connects(configOf([`tls://127.0.0.3:${tlsPort}`, `tls://127.0.0.1:${tlsPort}`], { tls }))).toBe(true);
  });

  it("over TLS, refuses a certificate naming another address", async () => {
    await expect(connectQueue(configOf([`tls://127.0.0.1:${otherTlsPort}`], { tls }), "t")).rejects.toThrow(
      /could not connect to the NATS queue/,
    );
  });

  it("over TLS to an IPv6 address, accepts a certificate naming it", async () => {
    expect(await connects(configOf([`tls://[::1]:${v6TlsPort}`], { tls }))).toBe(true);
  });

  it("over TLS, a certificate naming only a DNS name of the list is refused at an address", async () => {
    // queue.invalid never resolves; 127.0.0.1's certificate names queue.invalid, not the address.
    await expect(
      connectQueue(configOf([`tls://127.0.0.1:${namedTlsPort}`, `tls://queue.invalid:${namedTlsPort}`], { tls }), "t"),
    ).rejects.toThrow(/could not connect/);
  });

  it("over TLS to a server named by DNS name, checks the certificate against that name, not the list's addresses", async (context) => {
    // The machine's own name, when it resolves to 127.0.0.1 (an /etc/hosts line): the certificate names 127.0.0.1 only.
    const name = hostname();
    const resolved = await lookup(name, { family: 4 }).catch(() => undefined);
    if (name === "localhost" || resolved?.address !== "127.0.0.1") context.skip();
    // An address in the list turns the address check on; nothing listens at that one.
    const servers = [`tls://${name}:${tlsPort}`, `tls://127.0.0.1:${await freePort()}`];
    await expect(connectQueue(configOf(servers, { tls }), "t")).rejects.toThrow(/could not connect/);
  });
});
