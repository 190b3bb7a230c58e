import { createServer } from "node:http";
import { closeServer, describeReceiverScenarios, urlOf } from "./scenarios.test-helpers.js";
import { nodeHandler } from "./node.js";

describeReceiverScenarios("node http", async (receiver) => {
  const server = createServer(nodeHandler(receiver));
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  return { url: urlOf(server, "/webhooks"), close: () => closeServer(server) };
});
