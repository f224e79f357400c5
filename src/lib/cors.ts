// Cross-origin access to /graphql, for the origins EVALGRAPH_CORS_ORIGINS lists (a web app that
// sends end-user feedback with a FEEDBACK key). Keys travel in the Authorization header, never in
// cookies, so no origin is given credentials; any other origin gets no CORS headers at all, and a
// browser refuses it.
import type { CORSOptions, Plugin } from 'graphql-yoga';

/** The headers a browser client sends and may read (the rate-limit headers included). */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-GraphQL-CSRF', 'X-Request-Id'];
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Used',
  'X-RateLimit-Reset',
];

/** Yoga's `cors` option: an origin in `origins` (or any, for '*') is answered; others are not. */
export function corsFor(origins: readonly string[]) {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (request: Request): CORSOptions => {
    const origin = request.headers.get('origin');
    if (!origin || !(any || allowed.has(origin))) return false;
    return {
      origin,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ALLOWED_HEADERS,
      exposedHeaders: EXPOSED_HEADERS,
      credentials: false,
      maxAge: 600,
    };
  };
}

/**
 * Answers that depend on the Origin say so (Vary), so a shared cache never hands one origin's
 * CORS headers to another.
 */
export function useVaryOrigin(origins: readonly string[]): Plugin {
  return {
    onResponse({ request, response }) {
      if (!origins.length || !request.headers.get('origin')) return;
      const vary = response.headers.get('vary');
      if (!vary?.split(',').some((v) => v.trim().toLowerCase() === 'origin'))
        response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
    },
  };
}
