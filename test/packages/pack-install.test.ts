import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeVM } from "@edge-runtime/vm";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../cli/run-hookline.js";
import { testBackends } from "../support/databases.js";
import { startDeliveryStack, type DeliveryStack } from "../support/delivery.js";
import { bundleForWorkers } from "../support/edge-bundle.js";

/*
 * The packages as users get them: both are packed, checked with publint and
 * @arethetypeswrong/cli, and installed from the tarballs (npm, no workspace
 * links, no TypeScript loader) into one scratch app outside the workspace.
 * Its programs are the READMEs' examples, written out verbatim: run with
 * plain Node (ESM and CommonJS) against a live Hookline, and the TypeScript
 * ones checked by `tsc --noEmit` under moduleResolution node16 and bundler.
 */
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const scratch = mkdtempSync(join(tmpdir(), "hookline-pack-"));
const app = join(scratch, "app");
const bin = (name: string) => join(ROOT, "node_modules/.bin", name);
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_yes: "true" },
  });

/** The README's code blocks whose first line is `// <file name>…`, by file name. */
function readmeFiles(readme: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const [, code] of readFileSync(join(ROOT, readme), "utf8").matchAll(
    /```(?:js|ts)\n(\/\/ ([\w.-]+\.(?:mjs|cjs|ts))(?: [^\n]*)?\n[\s\S]*?)```/g,
  )) {
    files.set(code!.split("\n")[0]!.split(" ")[1]!, code!);
  }
  return files;
}

const examples = new Map([...readmeFiles("receiver/README.md"), ...readmeFiles("sdk/README.md")]);
const tarballs: Record<string, string> = {};

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => {
  for (const dir of ["sdk", "receiver"]) {
    run("npx", ["--yes", "pnpm@10.34.9", "pack", "--pack-destination", scratch], join(ROOT, dir)); // prepack builds dist/
  }
  for (const file of readdirSync(scratch).filter((f) => f.endsWith(".tgz")))
    tarballs[file.includes("sdk") ? "sdk" : "receiver"] = join(scratch, file);
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-app", private: true }));
  run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      tarballs.sdk!,
      tarballs.receiver!,
      "express@5",
      "hono@4",
      "@hono/node-server@1",
      "typescript@5.9",
      "@types/node@20",
      "@types/express@5",
    ],
    app,
  );
  for (const [name, code] of examples) writeFileSync(join(app, name), code);
}, 600_000);

describe("packaging checks on the packed tarballs", () => {
  it.each(["sdk", "receiver"])(
    "@hookline/%s: publint and attw (node16, bundler) are clean",
    (name) => {
      expect(run(bin("publint"), ["run", "--strict", tarballs[name]!], ROOT)).toMatch(/All good/);
      // node10 resolution predates `exports`; engines ask for Node ≥ 20.19.
      run(bin("attw"), [tarballs[name]!, "--profile", "node16", "--format", "ascii"], ROOT);
    },
    120_000,
  );

  it("the tarballs hold the build, not sources or tests", () => {
    for (const tarball of Object.values(tarballs)) {
      const files = run("tar", ["-tzf", tarball], scratch).split("\n").filter(Boolean);
      expect(files.filter((f) => !/^package\/(dist\/|package\.json$|README\.md$)/.test(f))).toEqual([]);
    }
  });
});

describe("the READMEs' TypeScript examples type-check against the installed packages", () => {
  it.each(["node16", "bundler"])(
    "tsc --noEmit, moduleResolution %s",
    (resolution) => {
      const module = resolution === "node16" ? "node16" : "esnext";
      writeFileSync(
        join(app, `tsconfig.${resolution}.json`),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: "es2022",
            strict: true,
            noEmit: true,
            types: ["node"],
            skipLibCheck: false,
          },
          files: [...examples.keys()].filter((f) => f.endsWith(".ts")),
        }),
      );
      // A .ts file with top-level await must be ESM under node16: the app's package.json has no "type", so use .mts there.
      if (resolution === "node16")
        run(
          "node",
          ["-e", "const p=require('./package.json');p.type='module';require('fs').writeFileSync('package.json',JSON.stringify(p))"],
          app,
        );
      try {
        run(join(app, "node_modules/.bin/tsc"), ["-p", `tsconfig.${resolution}.json`], app);
      } finally {
        if (resolution === "node16")
          run(
            "node",
            ["-e", "const p=require('./package.json');delete p.type;require('fs').writeFileSync('package.json',JSON.stringify(p))"],
            app,
          );
      }
    },
    180_000,
  );
});

describe("the installed receiver on an edge runtime", () => {
  it("bundles for a worker from its published exports (no Node built-in) and verifies a signed delivery with web globals only", async () => {
    const script = await bundleForWorkers(
      `export { createReceiver } from "@hookline/receiver"; export { fetchHandler } from "@hookline/receiver/fetch";`,
      app,
    );
    const id = "msg_packed_edge";
    const body = '{"order":"A-17"}';
    const headers = {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      "webhook-signature": new StandardWebhook(SECRET).sign(id, new Date(), body),
      "hookline-event-type": "order.paid",
    };
    const vm = new EdgeVM();
    vm.evaluate(script);
    const answer = vm.evaluate(`(async () => {
      const { createReceiver, fetchHandler } = HooklineReceiver;
      let got;
      const handle = fetchHandler(createReceiver({ secret: ${JSON.stringify(SECRET)} }).on("order.paid", (e) => { got = e.id; }));
      const response = await handle(new Request("https://edge.example/hook", { method: "POST", headers: ${JSON.stringify(headers)}, body: ${JSON.stringify(body)} }));
      return response.status + " " + got;
    })()`);
    expect(await answer).toBe(`200 ${id}`);
  }, 120_000);
});

describe("missing options name themselves", () => {
  it("createReceiver without a secret, createClient without apiKey (CommonJS and ESM)", () => {
    const fail = (code: string, type: "commonjs" | "module") => {
      try {
        run("node", [`--input-type=${type}`, "-e", code], app);
      } catch (error) {
        return String((error as { stderr?: string }).stderr);
      }
      throw new Error("no error");
    };
    expect(fail(`require("@hookline/receiver").createReceiver({ secret: process.env.UNSET })`, "commonjs")).toMatch(/secret: .*undefined/);
    expect(fail(`import { createClient } from "@hookline/sdk"; createClient({ baseUrl: "http://x" })`, "module")).toMatch(
      /`apiKey` option is required/,
    );
  });
});

describe.each(testBackends().slice(0, 1))("the READMEs' programs against a live Hookline ($kind)", (backend) => {
  let stack: DeliveryStack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
  });
  afterAll(async () => {
    for (const child of children) child.kill();
    await stack?.close();
  });

  /** Starts an example; resolves with its output so far once `pattern` appears. */
  function start(file: string, args: string[] = []) {
    const env = { ...process.env, PORT: "0", HOOKLINE_SECRET: SECRET, HOOKLINE_URL: stack.server.url, HOOKLINE_API_KEY: stack.account.key };
    const child = spawn("node", [file, ...args], { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const waitFor = (pattern: RegExp, ms = 60_000) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setInterval(() => {
          const match = output.match(pattern);
          if (!match) return;
          clearInterval(timer);
          clearTimeout(deadline);
          resolve(match);
        }, 50);
        const deadline = setTimeout(() => {
          clearInterval(timer);
          reject(new Error(`${file}: no ${pattern} in ${ms} ms:\n${output}`));
        }, ms);
      });
    return { waitFor, exited, output: () => output };
  }

  it("the SDK subscribes the Express, Hono, Node http and fetch receivers; each gets a real signed delivery", async () => {
    const receivers = ["receiver-express.cjs", "receiver-hono.mjs", "receiver-node.mjs", "receiver-fetch.mjs"].map((file) => start(file));
    const urls = await Promise.all(receivers.map(async (r) => (await r.waitFor(/listening on (\S+)/))[1]!));

    const sdk = start("sdk.mjs", urls);
    expect(await sdk.exited, sdk.output()).toBe(0);
    expect(sdk.output()).toMatch(/published event \d+/);
    expect(sdk.output()).toMatch(/^4 hooks in all$/m); // paged two at a time
    for (const receiver of receivers) await receiver.waitFor(/received order\.paid msg_\S+/);

    const cjs = start("sdk.cjs");
    expect(await cjs.exited, cjs.output()).toBe(0);
    expect(cjs.output()).toMatch(/read delivery \d+ of event \d+/);
  }, 240_000);
});
