import cors from 'cors';
import type express from 'express';
import { PREFLIGHT_HEADERS } from './csrf.ts';

/** The paths a page on another origin may call (API.md §6 CORS_ORIGINS); health, metrics and GraphiQL stay out. */
export const CORS_PATHS = ['/graphql', '/imports', '/downloads'];

/**
 * CORS for the configured origins, through the `cors` package. A listed origin gets its own origin echoed back;
 * any other gets no CORS header at all (not even on a preflight), so nothing about the API leaks to it. No
 * credentials: the API takes bearer tokens, never cookies. The CSRF check stays on behind this: the preflight
 * headers are allowed so that a listed page can send them.
 */
export function corsMiddleware(origins: readonly string[]): express.RequestHandler {
  const allowed = new Set(origins);
  const options: cors.CorsOptions = {
    origin: true,
    methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', ...PREFLIGHT_HEADERS],
    exposedHeaders: ['content-disposition', 'content-length', 'retry-after', 'x-request-id'],
    maxAge: 600,
    optionsSuccessStatus: 204,
  };
  const handler = cors((req, callback) => {
    callback(null, allowed.has(req.headers.origin ?? '') ? options : { origin: false });
  });
  return (req, res, next) => {
    // Every answer on these paths depends on Origin, allowed or not: a shared cache must not mix them up.
    res.vary('Origin');
    handler(req, res, next);
  };
}
