import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MASK,
  maskContact,
  maskEmail,
  maskLead,
  maskName,
  maskPhone,
  maskRecord,
  maskSqlExpressions,
  maskText,
  PERSONAL_FIELDS,
} from '../../src/modules/retention/masking.ts';

describe('single values', () => {
  it.each([
    ['John', 'J***'],
    ['john', 'j***'],
    ['J', 'J***'],
    ['Ōtani', 'Ō***'],
    ['李小龙', '李***'],
    ['😀 Smiley', '😀***'], // one code point, not half a surrogate pair
    [' John', ' ***'], // kept as stored: trimming is the input layer's job, and SQL must agree
    ['J***', 'J***'],
  ])('maskName(%j) = %j', (value, expected) => {
    expect(maskName(value)).toBe(expected);
  });

  it.each([
    ['john.doe@example.com', 'j***@example.com'],
    ['John.Doe@Example.COM', 'j***@Example.COM'], // domain as written, first letter lower-cased
    ['j@x.io', 'j***@x.io'],
    ['"a@b"@example.com', '"***@example.com'], // the domain is after the last '@'
    ['Émile@example.fr', 'É***@example.fr'], // only ASCII letters are lower-cased (SQL does the same)
    ['not-an-email', 'n***'],
    ['@example.com', '@***'],
    ['John@', 'j***'],
    ['@', '@***'],
    ['j***@example.com', 'j***@example.com'],
  ])('maskEmail(%j) = %j', (value, expected) => {
    expect(maskEmail(value)).toBe(expected);
  });

  it.each([
    ['+65 9123 4567', '******67'],
    ['(555) 010-0199', '******99'],
    ['91234567', '******67'],
    ['5', '******5'],
    ['ext. none', '******'],
    ['******67', '******67'],
    ['+65 ９１２３', '******65'], // only ASCII digits count, like [0-9] in SQL
  ])('maskPhone(%j) = %j', (value, expected) => {
    expect(maskPhone(value)).toBe(expected);
  });

  it.each(['1 Raffles Place, Singapore 048616', 'Called on Monday; prefers email.', '***', 'x'])(
    'maskText(%j) = ***',
    (value) => {
      expect(maskText(value)).toBe(MASK);
    },
  );

  it('null stays null and empty stays empty, for every rule', () => {
    for (const mask of [maskName, maskEmail, maskPhone, maskText]) {
      expect(mask(null)).toBeNull();
      expect(mask('')).toBe('');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

const textArb = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.emailAddress(),
  fc.stringMatching(/^\+?[0-9 ()-]{0,16}$/),
);
const nullableArb = fc.option(textArb, { nil: null });
const RUNS = { numRuns: 500 };
const firstCodePoint = (value: string): string => String.fromCodePoint(value.codePointAt(0) ?? 0);
const digits = (value: string): string => value.replace(/[^0-9]/g, '');

describe('properties', () => {
  it('every rule is idempotent', () => {
    fc.assert(
      fc.property(nullableArb, (value) => {
        for (const mask of [maskName, maskEmail, maskPhone, maskText]) expect(mask(mask(value))).toBe(mask(value));
      }),
      RUNS,
    );
  });

  it('names keep exactly their first character', () => {
    fc.assert(
      fc.property(textArb.filter((v) => v !== ''), (value) => {
        expect(maskName(value)).toBe(firstCodePoint(value) + MASK);
      }),
      RUNS,
    );
  });

  it('emails keep the domain and the first character of the local part, lower-cased', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const at = email.lastIndexOf('@');
        const first = firstCodePoint(email).replace(/[A-Z]/, (c) => c.toLowerCase());
        expect(maskEmail(email)).toBe(`${first}${MASK}@${email.slice(at + 1)}`);
      }),
      RUNS,
    );
  });

  it('a masked email reveals at most its first character and the domain', () => {
    fc.assert(
      fc.property(textArb.filter((v) => v !== ''), (value) => {
        const masked = maskEmail(value);
        const at = value.lastIndexOf('@');
        const domain = at > 0 && at < value.length - 1 ? value.slice(at + 1) : '';
        expect(masked.length).toBeLessThanOrEqual(firstCodePoint(value).length + MASK.length + 1 + domain.length);
        expect(masked.endsWith(domain === '' ? MASK : `${MASK}@${domain}`)).toBe(true);
      }),
      RUNS,
    );
  });

  it('phones become six stars and the last two digits', () => {
    fc.assert(
      fc.property(textArb.filter((v) => v !== ''), (value) => {
        const masked = maskPhone(value);
        expect(masked).toMatch(/^\*{6}[0-9]{0,2}$/);
        expect(masked.slice(6)).toBe(digits(value).slice(-2));
      }),
      RUNS,
    );
  });

  it('address and notes reveal nothing', () => {
    fc.assert(
      fc.property(textArb.filter((v) => v !== ''), (value) => {
        expect(maskText(value)).toBe(MASK);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('records', () => {
  const lead = {
    id: 'a6d7c1de-0000-4000-8000-000000000001',
    firstName: 'John',
    lastName: 'Doe',
    email: 'John.Doe@example.com',
    phone: '+65 9123 4567',
    company: 'Acme Pte Ltd',
    title: 'CTO',
    notes: 'Met at a conference',
  };
  const contact = {
    id: 'a6d7c1de-0000-4000-8000-000000000002',
    firstName: 'Siti',
    lastName: null,
    email: '',
    phone: '6123 4567',
    jobTitle: 'Buyer',
    address: '1 Raffles Place',
    notes: null,
    accountId: null,
  };

  it('the personal fields of each module', () => {
    expect(PERSONAL_FIELDS.LEADS).toEqual(['firstName', 'lastName', 'email', 'phone', 'notes']);
    expect(PERSONAL_FIELDS.CONTACTS).toEqual(['firstName', 'lastName', 'email', 'phone', 'address', 'notes']);
  });

  it('maskLead masks the personal fields and keeps the others', () => {
    expect(maskLead(lead)).toEqual({
      ...lead,
      firstName: 'J***',
      lastName: 'D***',
      email: 'j***@example.com',
      phone: '******67',
      notes: '***',
    });
  });

  it('maskContact masks the address too, and keeps null and empty values', () => {
    expect(maskContact(contact)).toEqual({
      ...contact,
      firstName: 'S***',
      phone: '******67',
      address: '***',
    });
  });

  it('returns a copy and leaves the input alone', () => {
    const input = { ...lead };
    const masked = maskLead(input);
    expect(masked).not.toBe(input);
    expect(input).toEqual(lead);
  });

  it('absent keys stay absent (partial records)', () => {
    const masked = maskContact({ id: 'x', email: 'a@b.c' });
    expect(masked).toEqual({ id: 'x', email: 'a***@b.c' });
    expect(Object.keys(masked)).toEqual(['id', 'email']);
  });

  it('maskRecord picks the module', () => {
    const record = { ...lead, address: 'kept for a lead' };
    expect(maskRecord('LEADS', record).address).toBe('kept for a lead');
    expect(maskRecord('CONTACTS', record).address).toBe('***');
  });

  it('property: masking a record is idempotent and touches only personal fields', () => {
    const recordArb = fc.record(
      {
        id: fc.uuid(),
        firstName: nullableArb,
        lastName: nullableArb,
        email: nullableArb,
        phone: nullableArb,
        address: nullableArb,
        notes: nullableArb,
        jobTitle: nullableArb,
      },
      { requiredKeys: ['id'] },
    );
    fc.assert(
      fc.property(recordArb, fc.constantFrom('LEADS' as const, 'CONTACTS' as const), (record, module) => {
        const masked = maskRecord(module, record);
        expect(maskRecord(module, masked)).toEqual(masked);
        const personal: readonly string[] = PERSONAL_FIELDS[module];
        for (const key of Object.keys(record) as (keyof typeof record)[]) {
          if (!personal.includes(key)) expect(masked[key]).toBe(record[key]);
        }
        expect(Object.keys(masked).sort()).toEqual(Object.keys(record).sort());
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The SQL side is checked against a real PostgreSQL elsewhere (it must equal the TS rendering for every value);
// here: the right columns, each expression referring to its own column, and safe qualifiers.

describe('maskSqlExpressions', () => {
  it('has one expression per personal column of the module', () => {
    expect(Object.keys(maskSqlExpressions('LEADS'))).toEqual(['first_name', 'last_name', 'email', 'phone', 'notes']);
    expect(Object.keys(maskSqlExpressions('CONTACTS'))).toEqual([
      'first_name',
      'last_name',
      'email',
      'phone',
      'address',
      'notes',
    ]);
  });

  it('each expression keeps NULL and empty values, and reads only its own column', () => {
    const columns = ['first_name', 'last_name', 'email', 'phone', 'address', 'notes'];
    for (const [column, expression] of Object.entries(maskSqlExpressions('CONTACTS'))) {
      expect(expression.startsWith(`(CASE WHEN ${column} IS NULL OR ${column} = '' THEN ${column} ELSE `)).toBe(true);
      for (const other of columns.filter((c) => c !== column)) {
        expect(expression).not.toMatch(new RegExp(`\\b${other}\\b`));
      }
    }
  });

  it('renders the documented rules', () => {
    const sql = maskSqlExpressions('CONTACTS');
    expect(sql.first_name).toBe(`(CASE WHEN first_name IS NULL OR first_name = '' THEN first_name ELSE left(first_name, 1) || '***' END)`);
    expect(sql.phone).toContain(`'******' || right(regexp_replace(phone, '[^0-9]', '', 'g'), 2)`);
    expect(sql.email).toContain(`split_part(email, '@', -1)`);
    expect(sql.email).toContain(`translate(left(email, 1), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')`);
    expect(sql.address).toBe(`(CASE WHEN address IS NULL OR address = '' THEN address ELSE '***' END)`);
  });

  it('has balanced parentheses and quotes', () => {
    for (const expression of Object.values(maskSqlExpressions('CONTACTS'))) {
      let depth = 0;
      for (const char of expression.replace(/'[^']*'/g, "''")) {
        depth += char === '(' ? 1 : char === ')' ? -1 : 0;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth).toBe(0);
      expect((expression.match(/'/g) ?? []).length % 2).toBe(0);
    }
  });

  it('qualifies columns with a table alias, and refuses anything but a plain identifier', () => {
    const sql = maskSqlExpressions('LEADS', 'l');
    expect(sql.first_name).toBe(`(CASE WHEN l.first_name IS NULL OR l.first_name = '' THEN l.first_name ELSE left(l.first_name, 1) || '***' END)`);
    expect(sql.address).toBeUndefined();
    for (const bad of ['', 'L', 'l; drop table leads', '"l"', 'a.b', '1x']) {
      expect(() => maskSqlExpressions('LEADS', bad)).toThrow(/qualifier/);
    }
  });
});
