// examples/all-hooks.ts
import { paginate } from "@hookline/sdk";
import { hookline } from "./client.js";

/** The URL of every hook of the account: 100 per request, following the Link header. */
export async function allHookUrls() {
  const urls: string[] = [];
  for await (const hook of paginate(hookline, "/v1/hooks", { params: { query: { limit: 100 } } })) {
    urls.push(hook.url);
  }
  return urls;
}
