import { describe, expect, it } from "vitest";
import { MAIN, startProcess } from "./run-hookline.js";

/**
 * `hookline start | head -5`, or a log shipper that died: the process's
 * stdout is a pipe whose reader is gone. A stop must still stop. (It hung:
 * at exit pino flushed its pending lines synchronously, and sonic-boom
 * retries a failed synchronous write for ever unless the error is EAGAIN,
 * so the broken pipe's EPIPE held the main thread, signals included.)
 */
describe("the server with its stdout pipe closed", () => {
  it("stops on SIGTERM", async () => {
    const hookline = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: "memory://", LOG_LEVEL: "info", HOOKLINE_LOG_FORMAT: "json" });
    try {
      await hookline.waitFor(/running at/, 240_000);
      // The reader goes away: the next line the server logs meets EPIPE.
      hookline.child.stdout!.destroy();
      hookline.child.kill("SIGTERM");
      const code = await Promise.race([hookline.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 20_000))]);
      expect(code).not.toBe("still running");
    } finally {
      hookline.child.kill("SIGKILL");
    }
  }, 300_000);
});
