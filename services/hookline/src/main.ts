import { runServer } from "./serve.js";

// The server's entry point (`pnpm start`, `hookline start`): see serve.ts.
await runServer(process.env, process.stdout.isTTY === true);
