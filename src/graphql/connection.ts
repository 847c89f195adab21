import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ClassType, Field, Int, ObjectType } from 'type-graphql';
import { badInput } from '../shared/app-error.ts';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

export interface ConnectionShape<T> {
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number | Promise<number>;
}

/**
 * `XConnection { nodes pageInfo totalCount }` for a node type.
 */
export function connectionType<T extends object>(node: ClassType<T>, name: string): ClassType<ConnectionShape<T>> {
  @ObjectType(name)
  class Connection implements ConnectionShape<T> {
    @Field(() => [node]) nodes!: T[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Int) totalCount!: number | Promise<number>;
  }
  return Connection;
}

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

/** `first`: default 20, capped at 100; zero or negative is a mistake worth telling. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (first < 1) throw badInput('first', 'must be at least 1');
  return Math.min(first, MAX_PAGE);
}

const NOT_A_CURSOR = 'is not a cursor returned by this list';

/** Opaque cursors: base64url of a JSON tuple (sort key + id). */
export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined, arity: number): (string | number)[] | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string' || typeof p === 'number')) {
      return parts as (string | number)[];
    }
  } catch {
    // fall through to the error below
  }
  throw badInput('after', NOT_A_CURSOR);
}

const SIGNED = /^([A-Za-z0-9_-]{1,4096})\.([A-Za-z0-9_-]{22})$/; // payload, then a 16-byte MAC

function cursorMac(secret: string, list: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`cursor:v1:${list}:${payload}`).digest().subarray(0, 16);
}

/**
 * The cursors a client sees are signed (HMAC with APP_SECRET, bound to the list), so whatever reaches a
 * repository's keyset query is a position this service handed out: a tampered, forged or foreign cursor is a
 * BAD_USER_INPUT here, before any SQL. The lists themselves keep reading plain `encodeCursor` tuples.
 */
export function signCursor(secret: string, list: string, cursor: string): string {
  return `${cursor}.${cursorMac(secret, list, cursor).toString('base64url')}`;
}

/** The plain cursor inside a signed one; BAD_USER_INPUT naming `after` if it was not signed for `list`. */
export function verifyCursor(secret: string, list: string, signed: string | null | undefined): string | undefined {
  if (signed === null || signed === undefined) return undefined;
  const [, payload, mac] = SIGNED.exec(signed) ?? [];
  const given = mac === undefined ? undefined : Buffer.from(mac, 'base64url');
  if (payload === undefined || given?.length !== 16 || !timingSafeEqual(given, cursorMac(secret, list, payload))) {
    throw badInput('after', NOT_A_CURSOR);
  }
  return payload;
}

/** Runs a list with the plain cursor inside `after` and signs the page's `endCursor` for the client. */
export async function signedPage<T>(
  secret: string,
  list: string,
  after: string | null | undefined,
  load: (after: string | undefined) => Promise<ConnectionShape<T>>,
): Promise<ConnectionShape<T>> {
  const page = await load(verifyCursor(secret, list, after));
  const { endCursor } = page.pageInfo;
  // Mutated, not spread: spreading would evaluate the lazy `totalCount` getter (see toConnection).
  page.pageInfo = { ...page.pageInfo, endCursor: endCursor === null ? null : signCursor(secret, list, endCursor) };
  return page;
}

/** Builds a connection from `limit + 1` fetched rows. */
export function toConnection<Row, Node>(
  rows: Row[],
  limit: number,
  toNode: (row: Row) => Node,
  cursorOf: (row: Row) => (string | number)[],
  totalCount: () => Promise<number>,
): ConnectionShape<Node> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    nodes: page.map(toNode),
    pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor(cursorOf(last)) : null },
    // A getter, so the count runs only when a client selects `totalCount`: counting a million contacts is
    // not free, and most pages do not need it.
    get totalCount() {
      return totalCount();
    },
  };
}
