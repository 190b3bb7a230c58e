import { renderUsage, runCommand } from "citty";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { listenCommand } from "./listen-command.js";

/** `hookline listen`'s flags as citty reads them; what it does is test/cli/listen-in-process.test.ts. */
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
    expect(usage).toMatch(
      /--forward-to=<forward_to> +Where to forward each delivery, e\.g\. http:\/\/localhost:3000\/webhooks \(Required\)/,
    );
  });

  it("require --forward-to", async () => {
    await expect(runCommand(command, { rawArgs: ["--events", "a"] })).rejects.toThrow(/forward-to/);
  });
});
