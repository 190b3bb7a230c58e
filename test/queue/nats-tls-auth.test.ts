import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount, issueApiKey } from "@hookline/server";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { eventually, startReceiver, type TestReceiver } from "../support/delivery.js";
import { startHooklineProcess } from "../support/hookline-process.js";
import { freePort } from "../support/free-port.js";
import { NATS_SERVER } from "../support/nats-cluster.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

const USER = "hookline";
const PASSWORD = "nats-pass-7f3c9e1d";

/**
 * A CA, a server certificate for 127.0.0.1 and a client certificate, all made
 * by the openssl CLI for this run only (PEM files in `dir`).
 */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hookline test CA", "-keyout", "ca.key", "-out", "ca.pem");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  // Signed by the same CA, for an address the server is not reached at.
  writeFileSync(join(dir, "other.ext"), "subjectAltName=IP:127.0.0.2\nextendedKeyUsage=serverAuth\n");
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const name of ["server", "other", "client"]) {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=hookline ${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.pem`);
  }
  const pair = (name: string) => ({ cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) });
  return { ca: join(dir, "ca.pem"), server: pair("server"), other: pair("other"), client: pair("client") };
}

/** Starts nats-server with JetStream, mutual TLS (`verify: true`) with `serverPair`, and USER/PASSWORD; resolves once its port takes connections. */
async function startTlsNats(dir: string, name: string, certs: ReturnType<typeof makeCertificates>, serverPair: { cert: string; key: string }) {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    [
      `listen: "127.0.0.1:${port}"`,
      `jetstream { store_dir: "${join(dir, `${name}-store`)}" }`,
      `tls { cert_file: "${serverPair.cert}", key_file: "${serverPair.key}", ca_file: "${certs.ca}", verify: true, timeout: 2 }`,
      `authorization { user: "${USER}", password: "${PASSWORD}" }`,
    ].join("\n"),
  );
  const child = spawn(NATS_SERVER, ["-c", conf], { stdio: "ignore" });
  // Up when its port takes connections (the TCP connect succeeds before any TLS).
  await eventually(
    () =>
      new Promise<true | undefined>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(undefined));
      }),
    10_000,
    `nats-server ${name} listening`,
  );
  return { port, child };
}

/**
 * The NATS queue through a NATS server that asks what production ones do:
 * TLS with client certificates (mutual TLS, `verify: true`) and a user and
 * password. HOOKLINE_QUEUE_URL carries the user and password, the
 * HOOKLINE_QUEUE_TLS_* files the CA and client certificate (README
 * "Scaling out"). A wrong password or a missing client certificate stops
 * the start with a message, and the password is never printed. Needs
 * PostgreSQL (TEST_DATABASE_URL), nats-server and openssl; loopback only.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL || !existsSync(NATS_SERVER))("the NATS queue over mutual TLS with a password", () => {
  let dir: string;
  let nats: ChildProcess;
  let natsPort: number;
  let certs: ReturnType<typeof makeCertificates>;
  let database: TestDatabase;
  let receiver: TestReceiver;
  const children: ChildProcess[] = [];
  const outputs = new Map<ChildProcess, string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hookline-nats-tls-"));
    certs = makeCertificates(dir);
    const started = await startTlsNats(dir, "nats", certs, certs.server);
    natsPort = started.port;
    nats = started.child;
    database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!);
    receiver = await startReceiver();
  }, 60_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    nats?.kill("SIGKILL");
    await receiver?.close();
    await database?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  function start(name: string, env: Record<string, string>, port?: number) {
    return startHooklineProcess(
      { children, outputs },
      name,
      {
        DATABASE_URL: database.url!,
        HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
        HOOKLINE_API_PROCESSES: "1",
        HOOKLINE_QUEUE_PREFIX: "tls",
        HOOKLINE_ALLOW_PRIVATE_TARGETS: "true",
        HOOKLINE_POLL_INTERVAL_MS: "200",
        LOG_LEVEL: "info",
        ...(port ? { PORT: String(port) } : {}),
        ...env,
      },
      // A refused client certificate surfaces only when nats.js's 20 s connect timeout ends: 25 s on a quiet machine, over 30 under load.
      50_000,
    );
  }

  it("delivers through the authenticated TLS connection", async () => {
    const port = await freePort();
    await start("tls both", {
      HOOKLINE_QUEUE_URL: `nats://${USER}:${PASSWORD}@127.0.0.1:${natsPort}`,
      HOOKLINE_QUEUE_TLS_CA_FILE: certs.ca,
      HOOKLINE_QUEUE_TLS_CERT_FILE: certs.client.cert,
      HOOKLINE_QUEUE_TLS_KEY_FILE: certs.client.key,
    }, port);
    const base = `http://127.0.0.1:${port}`;
    const account = await insertAccount(database.store.db, "tls");
    const { key } = await issueApiKey(database.store, account.id, "tls key");
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const hook = await fetch(`${base}/v1/hooks`, { method: "POST", headers, body: JSON.stringify({ url: `${receiver.url}/tls`, events: ["*"] }) });
    expect(hook.status, await hook.clone().text()).toBe(201);
    for (let n = 0; n < 5; n++) {
      const res = await fetch(`${base}/v1/events`, { method: "POST", headers, body: JSON.stringify({ type: "tls.check", data: { n } }) });
      expect(res.status).toBe(202);
    }
    await eventually(async () => (receiver.requests.filter((r) => r.url === "/tls").length >= 5 ? true : undefined), 20_000, "5 deliveries");
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    for (const output of outputs.values()) expect(output).not.toContain(PASSWORD);
  }, 90_000);

  it("refuses to start with a wrong password, without printing it", async () => {
    const wrong = "wrong-pass-0b1e";
    const failed = start("wrong password", {
      HOOKLINE_ROLE: "worker",
      HOOKLINE_QUEUE_URL: `nats://${USER}:${wrong}@127.0.0.1:${natsPort}`,
      HOOKLINE_QUEUE_TLS_CA_FILE: certs.ca,
      HOOKLINE_QUEUE_TLS_CERT_FILE: certs.client.cert,
      HOOKLINE_QUEUE_TLS_KEY_FILE: certs.client.key,
    });
    const error: Error = await failed.then(
      () => new Error("started"),
      (e: Error) => e,
    );
    expect(error.message).toMatch(/exited \(1\)/);
    expect(error.message).toMatch(/NATS queue/);
    expect(error.message).toMatch(/Authorization Violation/i);
    expect(error.message).not.toContain(wrong);
  }, 60_000);

  it("refuses to start without the client certificate the server asks for", async () => {
    const error: Error = await start("no client certificate", {
      HOOKLINE_ROLE: "worker",
      HOOKLINE_QUEUE_URL: `nats://${USER}:${PASSWORD}@127.0.0.1:${natsPort}`,
      HOOKLINE_QUEUE_TLS_CA_FILE: certs.ca,
    }).then(
      () => new Error("started"),
      (e: Error) => e,
    );
    expect(error.message).toMatch(/exited \(1\)/);
    expect(error.message).toMatch(/NATS queue/);
    expect(error.message).not.toContain(PASSWORD);
  }, 60_000);

  it("refuses a server certificate made out to another address, though signed by the trusted CA", async () => {
    const impostor = await startTlsNats(dir, "impostor", certs, certs.other);
    try {
      const error: Error = await start("certificate for another address", {
        HOOKLINE_ROLE: "worker",
        HOOKLINE_QUEUE_URL: `nats://${USER}:${PASSWORD}@127.0.0.1:${impostor.port}`,
        HOOKLINE_QUEUE_TLS_CA_FILE: certs.ca,
        HOOKLINE_QUEUE_TLS_CERT_FILE: certs.client.cert,
        HOOKLINE_QUEUE_TLS_KEY_FILE: certs.client.key,
      }).then(
        () => new Error("started"),
        (e: Error) => e,
      );
      expect(error.message).toMatch(/exited \(1\)/);
      expect(error.message).toMatch(/altnames|certificate/i);
    } finally {
      impostor.child.kill("SIGKILL");
    }
  }, 60_000);
});
