/**
 * What a request gets once the server is stopping (it may still arrive on a
 * kept-alive connection): 503 with Retry-After, and the connection closed so
 * the client reconnects to whichever server takes over.
 */
export function stoppingResponse(): Response {
  return new Response(JSON.stringify({ type: "about:blank", title: "Stopping", status: 503, detail: "Hookline is stopping; try again in a moment." }), {
    status: 503,
    headers: { "content-type": "application/problem+json", "retry-after": "1", connection: "close" },
  });
}
