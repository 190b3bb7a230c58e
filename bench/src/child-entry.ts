// Entry of processes started by runInChild: one IPC message names a module
// and an export; its resolved value (or error) goes back the same way.
type Call = { module: string; exportName: string; args: unknown };

process.once("message", async (call: Call) => {
  try {
    const mod = (await import(call.module)) as Record<string, (args: unknown) => Promise<unknown>>;
    const fn = mod[call.exportName];
    if (typeof fn !== "function") throw new Error(`${call.module} has no export ${call.exportName}`);
    const value = await fn(call.args);
    process.send!({ ok: true, value });
  } catch (error) {
    process.send!({ ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) });
  }
});
