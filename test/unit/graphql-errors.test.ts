import { DrizzleQueryError } from '../../src/db/drizzle-orm.ts';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { errorForLog, formatError, isExpectedError } from '../../src/graphql/errors.ts';
import { AuthenticationError, EdgeError, edgeFailure } from '../../src/http/errors.ts';
import { AppError, badInput, forbidden, notFound } from '../../src/shared/app-error.ts';

const located = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['x'] });
const format = (error: GraphQLError, production = true) => formatError(production)(error.toJSON() as GraphQLFormattedError, error);

describe('formatError (the one mapping of errors to extensions.code)', () => {
  it('maps AppError to its code and details, in production too', () => {
    expect(format(located(badInput('email', 'must be a valid email address')))).toMatchObject({
      message: 'email: must be a valid email address',
      extensions: { code: 'BAD_USER_INPUT', field: 'email' },
    });
    expect(format(located(notFound('lead'))).extensions).toEqual({ code: 'NOT_FOUND' });
  });

  it("maps type-graphql's UNAUTHORIZED to FORBIDDEN", () => {
    const error = new GraphQLError('Access denied! You don\'t have permission for this action!', { extensions: { code: 'UNAUTHORIZED' } });
    expect(format(located(error))).toMatchObject({ message: 'Your role may not do this', extensions: { code: 'FORBIDDEN' } });
  });

  it('keeps the code of a wrapped protocol error (QUERY_TOO_COMPLEX inside a validation failure)', () => {
    const inner = new GraphQLError('too deep', { extensions: { code: 'QUERY_TOO_COMPLEX' } });
    const outer = new GraphQLError('too deep', { originalError: inner, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(format(outer).extensions).toEqual({ code: 'QUERY_TOO_COMPLEX' });
  });

  it("keeps Apollo's BAD_USER_INPUT around graphql-js's code-less scalar error, naming the input field", () => {
    const scalar = new GraphQLError('Float cannot represent non numeric value: "NaN"');
    const outer = new GraphQLError('Variable "$input" got invalid value "NaN" at "input.amount"; Float cannot represent non numeric value: "NaN"', {
      originalError: scalar,
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(format(outer)).toMatchObject({ message: outer.message, extensions: { code: 'BAD_USER_INPUT', field: 'amount' } });
    expect(isExpectedError(outer)).toBe(true);
    const list = new GraphQLError('Variable "$ids" got invalid value 5 at "ids[0]"; ID cannot represent value: 5', {
      originalError: scalar,
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(format(list).extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  it('hides anything else in production, and never sends a stack trace', () => {
    const sql = located(new Error('relation "leads" does not exist'));
    expect(format(sql, true)).toEqual({ message: 'Internal server error', path: ['x'], locations: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(isExpectedError(sql)).toBe(false);
    const dev = format(sql, false);
    expect(dev.message).toBe('relation "leads" does not exist');
    expect(dev.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(isExpectedError(located(new AppError('INTERNAL_SERVER_ERROR', 'x')))).toBe(false);
  });
});

describe('errorForLog', () => {
  it("logs the database's error, not drizzle's message with the query parameters", () => {
    const cause = new Error('relation "api_tokens" does not exist');
    const drizzle = new DrizzleQueryError('select … where token_hash = $1', ['a-secret-hash', 'jane@example.com'], cause);
    const logged = errorForLog(located(drizzle));
    expect(logged.err).toBe('relation "api_tokens" does not exist');
    expect(JSON.stringify(logged)).not.toMatch(/a-secret-hash|jane@example.com|Failed query/);
  });

  it('logs other errors as they are', () => {
    expect(errorForLog(new Error('boom')).err).toBe('boom');
    expect(errorForLog('text')).toEqual({ err: 'text' });
  });
});

describe('edgeFailure (the one mapping of errors to HTTP status and WebSocket close code)', () => {
  it('answers a missing token 401 / 4401 and a refused one 401 / 4403, with the same code', () => {
    expect(edgeFailure(new AuthenticationError(false))).toMatchObject({ code: 'UNAUTHENTICATED', status: 401, closeCode: 4401, expected: true });
    expect(edgeFailure(new AuthenticationError(true))).toMatchObject({ code: 'UNAUTHENTICATED', status: 401, closeCode: 4403, expected: true });
  });

  it('maps domain and edge codes to their status', () => {
    expect(edgeFailure(forbidden('no')).status).toBe(403);
    expect(edgeFailure(notFound('backup')).status).toBe(404);
    expect(edgeFailure(badInput('file', 'is required'))).toMatchObject({ status: 400, message: 'file: is required' });
    expect(edgeFailure(new EdgeError('PAYLOAD_TOO_LARGE', 'too big'))).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    expect(edgeFailure(new EdgeError('CSRF_PREVENTED', 'csrf'))).toMatchObject({ code: 'CSRF_PREVENTED', status: 400 });
  });

  it("keeps body-parser's 4xx status, and its message only when it is safe to show", () => {
    expect(edgeFailure(Object.assign(new Error('request entity too large'), { status: 413, expose: true }))).toMatchObject({
      code: 'BAD_REQUEST',
      status: 413,
      message: 'request entity too large',
    });
    expect(edgeFailure(Object.assign(new Error('secret detail'), { status: 400 })).message).toBe('Bad request');
  });

  it('hides anything else (and domain codes the edge does not answer) as a 500', () => {
    const internal = { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', status: 500, closeCode: 4500, expected: false };
    expect(edgeFailure(new Error('relation "x" does not exist'))).toEqual(internal);
    expect(edgeFailure(new AppError('BACKUP_IN_PROGRESS', 'Backup is already in process'))).toEqual(internal);
  });
});
