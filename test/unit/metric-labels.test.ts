import { describe, expect, it } from 'vitest';
import { httpMethodLabel, httpRouteLabel } from '../../src/metrics/metric-labels.ts';

describe('metric labels', () => {
  it.each([
    ['/graphql', '/graphql'],
    ['/graphql/', '/graphql'],
    ['/imports', '/imports'],
    ['/downloads/backups/6f1c2a5e-0000-4000-8000-000000000000', '/downloads'],
    ['/healthz', '/healthz'],
    ['/readyz', '/readyz'],
    ['/healthz?org=6f1c2a5e', '/healthz'], // a bare node:http server hands over the URL with its query
    ['/metrics', '/metrics'],
  ])('names the route of %s by its fixed prefix: %s', (path, route) => {
    expect(httpRouteLabel(path)).toBe(route);
  });

  it.each([
    '/',
    '/graphqlx',
    '/graphql-ws',
    '/6f1c2a5e-0000-4000-8000-000000000000',
    '/downloadsbackups/x',
    '/METRICS',
    '/jane.doe@example.com',
    `/${'a'.repeat(10_000)}`,
  ])('files any other path (%s) under "other"', (path) => {
    expect(httpRouteLabel(path)).toBe('other');
  });

  it('keeps the standard methods and files anything else under "other"', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) expect(httpMethodLabel(method)).toBe(method);
    for (const method of ['PROPFIND', 'get', 'BREW', 'X'.repeat(1000), '']) expect(httpMethodLabel(method)).toBe('other');
  });
});
