import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MODULES } from '../../src/modules/crm/crm.modules.ts';
import { isCalendarDate, validateFields } from '../../src/modules/crm/crm.validation.ts';
import { AppError } from '../../src/shared/app-error.ts';

const UUID = '6F1D2C3B-4A59-4E8F-8A7B-9C0D1E2F3A4B';

function refusal(fn: () => unknown): { field: unknown; message: string } | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError && e.code === 'BAD_USER_INPUT') return { field: e.details.field, message: e.message };
    throw e;
  }
  return undefined;
}

describe('validateFields', () => {
  it('keeps given fields, skips absent ones, and passes null through to clear', () => {
    expect(validateFields(MODULES.CONTACTS, { firstName: 'Jane', phone: null, notes: undefined }, 'update')).toEqual({ firstName: 'Jane', phone: null });
  });

  it('keeps text exactly as typed (restores must reproduce it) but trims formatted values', () => {
    expect(
      validateFields(MODULES.DEALS, { name: '  Deal  ', currency: ' SGD ', amount: 0, closeDate: '2024-02-29', accountId: UUID }, 'create'),
    ).toEqual({ name: '  Deal  ', currency: 'SGD', amount: 0, closeDate: '2024-02-29', accountId: UUID.toLowerCase() });
    expect(validateFields(MODULES.LEADS, { email: ' a@b.co ', notes: '  x  ' }, 'create')).toEqual({ email: 'a@b.co', notes: '  x  ' });
  });

  it('clears a formatted field given as blank text', () => {
    expect(validateFields(MODULES.LEADS, { email: '   ' }, 'update')).toEqual({ email: null });
    expect(validateFields(MODULES.DEALS, { currency: '' }, 'update')).toEqual({ currency: null });
  });

  it('requires name on create of accounts and deals, and never lets it be cleared', () => {
    for (const spec of [MODULES.ACCOUNTS, MODULES.DEALS]) {
      expect(refusal(() => validateFields(spec, {}, 'create'))).toEqual({ field: 'name', message: 'name: is required' });
      expect(refusal(() => validateFields(spec, { name: null }, 'update'))).toEqual({ field: 'name', message: 'name: must not be empty' });
      expect(refusal(() => validateFields(spec, { name: ' \t ' }, 'create'))).toEqual({ field: 'name', message: 'name: must not be empty' });
      expect(validateFields(spec, {}, 'update')).toEqual({});
    }
    expect(validateFields(MODULES.LEADS, {}, 'create')).toEqual({});
  });

  it.each([
    ['LEADS', { email: 'plainaddress' }, 'email'],
    ['LEADS', { email: 'a@b' }, 'email'],
    ['LEADS', { email: 'a b@c.co' }, 'email'],
    ['LEADS', { email: `${'a'.repeat(250)}@b.co` }, 'email'],
    ['LEADS', { email: 5 }, 'email'],
    ['LEADS', { firstName: 'x'.repeat(201) }, 'firstName'],
    ['LEADS', { firstName: 42 }, 'firstName'],
    ['LEADS', { notes: 'x'.repeat(10_001) }, 'notes'],
    ['CONTACTS', { accountId: 'abc' }, 'accountId'],
    ['CONTACTS', { accountId: `${UUID}0` }, 'accountId'],
    ['ACCOUNTS', { name: 'x'.repeat(201) }, 'name'],
    ['DEALS', { name: 'D', amount: -1 }, 'amount'],
    ['DEALS', { name: 'D', amount: Number.NaN }, 'amount'],
    ['DEALS', { name: 'D', amount: Number.POSITIVE_INFINITY }, 'amount'],
    ['DEALS', { name: 'D', amount: '10' }, 'amount'],
    ['DEALS', { name: 'D', currency: 'sgd' }, 'currency'],
    ['DEALS', { name: 'D', currency: 'SGDX' }, 'currency'],
    ['DEALS', { name: 'D', closeDate: '2026-02-30' }, 'closeDate'],
    ['DEALS', { name: 'D', closeDate: '2026-2-3' }, 'closeDate'],
    ['DEALS', { name: 'D', contactId: 7 }, 'contactId'],
  ] as const)('%s %o → BAD_USER_INPUT naming %s, message "<field>: <rule>"', (module, input, field) => {
    const r = refusal(() => validateFields(MODULES[module], input, 'create'));
    expect(r?.field).toBe(field);
    expect(r?.message).toMatch(new RegExp(`^${field}: \\w`));
  });

  it('accepts text of exactly the maximum length', () => {
    expect(validateFields(MODULES.LEADS, { firstName: 'x'.repeat(200) }, 'create')).toEqual({ firstName: 'x'.repeat(200) });
  });
});

describe('isCalendarDate', () => {
  it.each(['2026-01-01', '2024-02-29', '2026-12-31', '0001-01-01', '9999-12-31'])('accepts %s', (d) => expect(isCalendarDate(d)).toBe(true));
  it.each(['2026-02-29', '2026-02-30', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '26-01-01', '2026-01-01T00:00:00Z', '', 'today'])(
    'refuses %j',
    (d) => expect(isCalendarDate(d)).toBe(false),
  );

  it('agrees with the calendar for every day of a leap and a common year', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1900, max: 2100 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
        const text = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
        expect(isCalendarDate(text)).toBe(d <= daysInMonth);
      }),
    );
  });
});
