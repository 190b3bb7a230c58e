#!/usr/bin/env node
// The `hookline` command: the compiled CLI (`pnpm build` makes dist/).
import "../dist/cli.mjs";
