import { fetchHandler } from "./fetch.js";
import { describeReceiverScenarios, serveFetch } from "./scenarios.test-helpers.js";

// Served by @hono/node-server's Node http adapter directly, as Bun.serve/Deno.serve would.
describeReceiverScenarios("fetch (Request) => Response", (receiver) => serveFetch(fetchHandler(receiver)));
