import { describe, expect, it } from 'vitest';
import { moduleHeaders } from '../../src/export/module-columns.ts';
import { RejectedCell, type CellValue } from '../../src/import/table.types.ts';
import { AppError } from '../../src/shared/app-error.ts';
import { planHeader } from '../../src/modules/restore/import-columns.ts';
import { RowError, toImportRecord, type RowContext } from '../../src/modules/restore/import-row.ts';

const ID = '0b0f8a36-5a7e-4d0e-9a57-7f6f5b0a4c11';
const ACCOUNT = '6f1c2b1e-8d3a-4f5b-9c7d-1e2f3a4b5c6d';
const OWNER = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const ctx: RowContext = { ownerByEmail: (email) => (email.toLowerCase() === 'ann@example.com' ? OWNER : undefined), defaultTimestamp: 1_000 };

const CONTACT_HEADER = moduleHeaders('CONTACTS');
const contactPlan = planHeader('CONTACTS', CONTACT_HEADER, 'contacts.csv');

/** A contact row in file order, with overrides by header. */
function contactRow(overrides: Record<string, CellValue | RejectedCell> = {}): (CellValue | RejectedCell)[] {
  const base: Record<string, CellValue> = {
    id: ID,
    firstName: 'Ann',
    lastName: 'Tan',
    email: 'ann@example.com',
    phone: '+65 6123 4567',
    jobTitle: null,
    address: null,
    notes: null,
    accountId: ACCOUNT,
    ownerEmail: 'ANN@example.com',
    createdAt: '2026-01-31T09:30:00.123Z',
    updatedAt: '2026-02-01T00:00:00.000Z',
    retentionEndsAt: '2030-01-01T00:00:00.000Z',
    deletesAt: '2031-01-01T00:00:00.000Z',
    maskedAt: null,
    legalHold: 'false',
  };
  return CONTACT_HEADER.map((h) => (h in overrides ? overrides[h]! : base[h]!));
}

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof RowError) return error.message;
    throw error;
  }
  throw new Error('expected a RowError');
};

describe('import header plan', () => {
  it('accepts the archive columns in any order, the retention columns being optional', () => {
    const reversed = [...CONTACT_HEADER].reverse();
    const plan = planHeader('CONTACTS', reversed, 'contacts.csv');
    expect(plan.columns.find((c) => c.header === 'id')!.index).toBe(reversed.indexOf('id'));
    const withoutRetention = CONTACT_HEADER.filter((h) => !['retentionEndsAt', 'deletesAt', 'maskedAt', 'legalHold'].includes(h));
    expect(planHeader('CONTACTS', withoutRetention, 'contacts.csv')).toMatchObject({ hasMaskedAt: false, hasLegalHold: false });
  });

  it('refuses missing, unknown and repeated columns with BAD_USER_INPUT naming them', () => {
    const bad = ['id', 'firstName', 'firstName', 'shoeSize', ...CONTACT_HEADER.slice(3)];
    let error: unknown;
    try {
      planHeader('CONTACTS', bad, 'contacts.csv');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('BAD_USER_INPUT');
    expect((error as AppError).message).toMatch(/contacts\.csv does not have the contacts columns \(missing lastName; unknown shoeSize; repeated firstName\)/);
  });

  it("refuses another module's file (deals columns for contacts)", () => {
    expect(() => planHeader('CONTACTS', moduleHeaders('DEALS'), 'deals.csv')).toThrow(/missing firstName/);
  });
});

describe('import row', () => {
  it('turns cells into validated values, the owner by email and dates as epoch milliseconds', () => {
    const record = toImportRecord(contactPlan, { row: 2, cells: contactRow() }, ctx);
    expect(record).toEqual({
      row: 2,
      id: ID,
      ownerId: OWNER,
      createdAt: Date.UTC(2026, 0, 31, 9, 30, 0, 123),
      updatedAt: Date.UTC(2026, 1, 1),
      values: {
        firstName: 'Ann',
        lastName: 'Tan',
        email: 'ann@example.com',
        phone: '+65 6123 4567',
        jobTitle: null,
        address: null,
        notes: null,
        accountId: ACCOUNT,
      },
      maskedAt: null,
      legalHold: false,
    });
  });

  it('removes exactly the one apostrophe of the formula guard, and keeps text as written', () => {
    const record = toImportRecord(
      contactPlan,
      { row: 2, cells: contactRow({ firstName: "'=1+1", lastName: "''quoted", notes: "'plain", address: '  spaced \r\n' }) },
      ctx,
    );
    expect(record.values).toMatchObject({ firstName: '=1+1', lastName: "'quoted", notes: "'plain", address: '  spaced \r\n' });
  });

  it('keeps every apostrophe of a format 2 XLSX (verbatim text), and reads booleans as TRUE/FALSE/1/0', () => {
    const verbatim = planHeader('CONTACTS', CONTACT_HEADER, 'contacts.xlsx', false);
    expect(verbatim.unescapeText).toBe(false);
    const cells = contactRow({ firstName: "'=1+1", lastName: "''quoted", phone: '+65 9123 4567', legalHold: true });
    const record = toImportRecord(verbatim, { row: 2, cells, sparse: true }, ctx);
    expect(record.values).toMatchObject({ firstName: "'=1+1", lastName: "''quoted", phone: '+65 9123 4567' });
    for (const [cell, value] of [['TRUE', true], ['FALSE', false], ['1', true], ['0', false], [true, true], [false, false]] as const) {
      expect(toImportRecord(verbatim, { row: 2, cells: contactRow({ legalHold: cell }) }, ctx).legalHold).toBe(value);
    }
    expect(messageOf(() => toImportRecord(verbatim, { row: 2, cells: contactRow({ legalHold: 'yes' }) }, ctx))).toBe('legalHold: must be true or false');
  });

  it.each([
    [{ id: 'not-a-uuid' }, 'id: must be a UUID (the record id)'],
    [{ id: null }, 'id: must be a UUID (the record id)'],
    [{ email: 'nope' }, 'email: must be a valid email address'],
    [{ firstName: 'x'.repeat(201) }, 'firstName: must be at most 200 characters'],
    [{ accountId: '42' }, 'accountId: must be the id of a record of your organization'],
    [{ ownerEmail: 'stranger@example.com' }, 'ownerEmail: must be the email of a user of your organization'],
    [{ createdAt: '31/01/2026' }, 'createdAt: must be a date and time in ISO 8601 (e.g. 2026-01-31T09:30:00.000Z)'],
    [{ createdAt: '2026-01-31 09:30' }, 'createdAt: must be a date and time in ISO 8601 (e.g. 2026-01-31T09:30:00.000Z)'],
    [{ legalHold: 'maybe' }, 'legalHold: must be true or false'],
    [{ notes: new RejectedCell('is a formula; formulas are not imported') }, 'notes: is a formula; formulas are not imported'],
  ])('reports %j as "%s"', (overrides, message) => {
    expect(messageOf(() => toImportRecord(contactPlan, { row: 7, cells: contactRow(overrides) }, ctx))).toBe(message);
  });

  it('refuses a short or long CSV row, but not an XLSX row that leaves trailing empty cells out', () => {
    const cells = contactRow();
    expect(messageOf(() => toImportRecord(contactPlan, { row: 3, cells: cells.slice(0, 5) }, ctx))).toBe('has 5 cells; the header has 16');
    expect(messageOf(() => toImportRecord(contactPlan, { row: 3, cells: [...cells, 'extra'] }, ctx))).toBe('has 17 cells; the header has 16');
    const xlsx = toImportRecord(contactPlan, { row: 3, cells: cells.slice(0, 14), sparse: true }, ctx);
    expect(xlsx).toMatchObject({ maskedAt: null, legalHold: null });
  });

  it('reads the masked state and legal hold, and defaults missing audit dates to the import start', () => {
    const record = toImportRecord(
      contactPlan,
      { row: 2, cells: contactRow({ maskedAt: new Date(Date.UTC(2025, 5, 1)), legalHold: true, createdAt: null, updatedAt: '' }) },
      ctx,
    );
    expect(record).toMatchObject({ maskedAt: Date.UTC(2025, 5, 1), legalHold: true, createdAt: 1_000, updatedAt: 1_000 });
  });

  it('parses deal amounts and dates like the GraphQL input would carry them', () => {
    const plan = planHeader('DEALS', moduleHeaders('DEALS'), 'deals.csv');
    const row = (amount: CellValue, closeDate: CellValue = '2026-03-31') =>
      moduleHeaders('DEALS').map((h) =>
        ({ id: ID, name: 'Big deal', amount, currency: 'SGD', stage: null, closeDate, accountId: null, contactId: null, ownerEmail: null, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' })[h] ?? null,
      );
    expect(toImportRecord(plan, { row: 2, cells: row('1e308') }, ctx).values.amount).toBe(1e308);
    expect(toImportRecord(plan, { row: 2, cells: row(12.5, new Date(Date.UTC(2026, 2, 31))) }, ctx).values).toMatchObject({ amount: 12.5, closeDate: '2026-03-31' });
    expect(messageOf(() => toImportRecord(plan, { row: 2, cells: row('12,5') }, ctx))).toBe('amount: must be a number');
    expect(messageOf(() => toImportRecord(plan, { row: 2, cells: row('-1') }, ctx))).toBe('amount: must be a number greater than or equal to 0');
    expect(messageOf(() => toImportRecord(plan, { row: 2, cells: row(1, '2026-02-30') }, ctx))).toBe('closeDate: must be a date in the form YYYY-MM-DD');
  });
});
