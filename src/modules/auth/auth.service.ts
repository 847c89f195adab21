import type pg from 'pg';
import type { Db } from '../../db/client.ts';
import { withTransaction } from '../../db/transaction.ts';
import { eventNotifyQuery } from '../../events/event-topics.ts';
import { AppError, badInput } from '../../shared/app-error.ts';
import { requireEmail, requireText, requireTimezone, isUuid } from '../../shared/validation.ts';
import { slugify } from '../../shared/slug.ts';
import * as repo from './auth.repository.ts';
import { generateToken, hashToken, looksLikeToken } from './token.ts';
import type { RoleName, TokenViewer } from './auth.types.ts';
import type { TokenCache } from './token-cache.ts';

export interface CreatedUser {
  userId: string;
  email: string;
  role: RoleName;
  token: string;
}

export class AuthService {
  private readonly viewerByTokenHash: ReturnType<typeof repo.viewerByTokenHashQuery>;

  /**
   * `cache`: the api processes' token cache (app.ts keeps it true through `tokenRevoked` events); the CLI
   * passes none and always asks the database.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly db: Db,
    readonly cache?: TokenCache,
  ) {
    this.viewerByTokenHash = repo.viewerByTokenHashQuery(db);
  }

  /** A new organization with its first ADMIN and an API token for them. */
  async createOrganization(input: { name: string; timezone?: string }): Promise<{
    organization: repo.OrganizationRow;
    admin: CreatedUser;
  }> {
    const name = requireText('name', input.name, 200);
    const timezone = requireTimezone('timezone', input.timezone ?? 'UTC');
    return withTransaction(this.pool, async ({ db: tx }) => {
      const organization = await repo.insertOrganization(tx, name, timezone);
      const email = `admin@${slugify(name)}.example.com`;
      const user = await repo.insertUser(tx, { organizationId: organization.id, email, role: 'ADMIN', name: 'Administrator' });
      const token = await this.issueToken(tx, user, 'initial admin token');
      return { organization, admin: { userId: user.id, email, role: 'ADMIN', token } };
    });
  }

  async createUser(input: { organizationId: string; email: string; role: string; name?: string | null }): Promise<CreatedUser> {
    if (!isUuid(input.organizationId) || !(await repo.findOrganization(this.db, input.organizationId))) {
      throw new AppError('NOT_FOUND', 'organization not found');
    }
    const email = requireEmail('email', input.email);
    if (input.role !== 'ADMIN' && input.role !== 'STANDARD') throw badInput('role', 'must be ADMIN or STANDARD');
    const name = input.name == null ? null : requireText('name', input.name, 200);
    if (await repo.findUserByEmail(this.db, input.organizationId, email)) {
      throw badInput('email', 'is already used by a user of this organization');
    }
    return withTransaction(this.pool, async ({ db: tx }) => {
      const user = await repo.insertUser(tx, { organizationId: input.organizationId, email, role: input.role as RoleName, name });
      const token = await this.issueToken(tx, user, null);
      return { userId: user.id, email: user.email, role: user.role, token };
    });
  }

  async createToken(userId: string, name: string | null): Promise<string> {
    const user = isUuid(userId) ? await repo.findUser(this.db, userId) : undefined;
    if (!user) throw new AppError('NOT_FOUND', 'user not found');
    return this.issueToken(this.db, user, name);
  }

  /**
   * Revokes a token and tells every process in the same transaction (NOTIFY is delivered on COMMIT, never for a
   * rollback): each drops it from its token cache and closes its WebSockets within moments, wherever the
   * revocation came from (the CLI has no event bus of its own).
   */
  async revokeToken(token: string): Promise<boolean> {
    const tokenId = await withTransaction(this.pool, async ({ q, db: tx }) => {
      const revoked = await repo.revokeTokenByHash(tx, hashToken(token));
      if (revoked) await q.query(eventNotifyQuery('tokenRevoked', revoked, { tokenId: revoked }));
      return revoked;
    });
    if (tokenId) this.cache?.forgetToken(tokenId); // this process at once, not when its own NOTIFY comes back
    return tokenId !== undefined;
  }

  /** The viewer behind a token, or undefined for unknown, revoked or malformed tokens. */
  async authenticate(token: string | undefined): Promise<TokenViewer | undefined> {
    if (!token || !looksLikeToken(token)) return undefined;
    const tokenHash = hashToken(token);
    const cached = this.cache?.get(tokenHash);
    if (cached) return cached;
    const generation = this.cache?.generation ?? 0;
    const [viewer] = await this.viewerByTokenHash.execute({ tokenHash });
    if (viewer) this.cache?.set(tokenHash, viewer, generation);
    return viewer;
  }

  /** The viewer of a token this process already knows to be live, without asking the database. */
  cachedViewer(token: string | undefined): TokenViewer | undefined {
    return token && looksLikeToken(token) ? this.cache?.get(hashToken(token)) : undefined;
  }

  private async issueToken(db: Parameters<typeof repo.insertToken>[0], user: repo.UserRow, name: string | null): Promise<string> {
    const token = generateToken();
    await repo.insertToken(db, { userId: user.id, organizationId: user.organizationId, tokenHash: hashToken(token), name });
    return token;
  }
}
