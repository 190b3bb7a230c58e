import { ProblemError } from "../problem.js";
import type { PingCallback, PublishEvent } from "./profile-deps.js";

/** Stand-ins until the delivery engine's publish and ping are wired in. */
export const pingNotWired: PingCallback = async () => {
  throw new ProblemError("unavailable", "Pinging is not available yet.");
};

export const publishNotWired: PublishEvent = async () => {
  throw new ProblemError("unavailable", "Publishing is not available yet.");
};
