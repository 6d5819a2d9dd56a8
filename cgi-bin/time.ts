// Fetch style, the shape Workers, Deno, Bun and Hono use: GET /time -> {"now": "..."}
export default {
  fetch(request: Request): Response {
    return Response.json({ now: new Date().toISOString(), method: request.method });
  },
};
