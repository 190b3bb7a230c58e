import { createServer } from "node:net";
import { renderUsage, runCommand } from "citty";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { listenCommand } from "./listen-command.js";

/** `hookline listen`'s flags as citty reads them and what it refuses before listening; what it does is test/cli/listen-in-process.test.ts. */
describe("hookline listen's flags", () => {
  const command = listenCommand(() => loadConfig({ HOOKLINE_DATA_DIR: "memory://", LOG_LEVEL: "silent" }));

  it("are described in its help", async () => {
    const usage = await renderUsage(command);
    for (const text of [
      "Forward an account's deliveries to a local URL, signed as a hook's, and log the answers (HOOKLINE_API_KEY)",
      "Where to forward each delivery, e.g. http://localhost:3000/webhooks",
      "Comma-separated event types to receive (e.g. build:*,ping); default: every type",
      "The server's URL; default: HOOKLINE_PUBLIC_URL, the embedded server's, or http://HOST:PORT",
    ])
      expect(usage).toContain(text);
    expect(usage).toContain("USAGE listen [OPTIONS] --forward-to=<forward_to>");
    // String options, each taking a value.
    expect(usage).toMatch(/--events=<events> +Comma-separated/);
    expect(usage).toMatch(/--url=<url> +The server's URL/);
    expect(usage).toMatch(
      /--forward-to=<forward_to> +Where to forward each delivery, e\.g\. http:\/\/localhost:3000\/webhooks \(Required\)/,
    );
  });

  it("require --forward-to", async () => {
    await expect(runCommand(command, { rawArgs: ["--events", "a"] })).rejects.toThrow(/forward-to/);
  });

  const withKey = listenCommand(() => loadConfig({ HOOKLINE_API_KEY: "hk_test", HOOKLINE_DATA_DIR: "memory://", LOG_LEVEL: "silent" }));

  it("require an API key", async () => {
    await expect(runCommand(command, { rawArgs: ["--forward-to", "http://localhost:3000/"] })).rejects.toThrow(
      "HOOKLINE_API_KEY is required: set it to an API key of the account to listen as (`hookline keys create` makes one).",
    );
  });

  it("take only an http(s) URL to forward to", async () => {
    for (const forwardTo of ["localhost:3000", "not a url", "ftp://localhost/", "xhttp://localhost/", "shttps://localhost/"])
      await expect(runCommand(withKey, { rawArgs: ["--forward-to", forwardTo] }), forwardTo).rejects.toThrow(
        `--forward-to must be an http(s) URL (got "${forwardTo}").`,
      );
  });

  it("say which server they could not reach", async () => {
    // A loopback port nothing listens on: taken, then freed.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}`;
    await expect(runCommand(withKey, { rawArgs: ["--forward-to", "https://localhost:3000/", "--url", `${url}/`] })).rejects.toThrow(
      new RegExp(`^Listening failed: cannot reach ${url.replace(/\./g, "\\.")} \\(.+\\): start the server, or pass --url\\.$`),
    );
  });
});
