import { eventually, type ReceivedRequest, type TestReceiver } from "../support/delivery.js";

/**
 * The requests a receiver got that match `where`, once there is at least one
 * (waits at most 10 s).
 *
 * @example
 * const [call] = await received(receiver, (r) => r.headers["hookline-event-type"] === "PostDeployment");
 */
export function received(receiver: TestReceiver, where: (request: ReceivedRequest) => boolean): Promise<ReceivedRequest[]> {
  return eventually(async () => {
    const matching = receiver.requests.filter(where);
    return matching.length > 0 ? matching : undefined;
  }, 10_000, "a matching request");
}
