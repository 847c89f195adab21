import { getTableColumns, getTableName, getTableConfig } from '../../src/db/drizzle-orm.ts';
import type { PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { CRM_MODULE_NAMES, MODULES, RETENTION_MODULES, type CrmModuleName, type FieldKind } from '../../src/modules/crm/crm.modules.ts';
import { accounts, contacts, deals, leads } from '../../src/modules/crm/crm.table.ts';

/* The drizzle tables are written by hand; the registry (records/*.record.ts) must describe the same columns. */

const TABLES: Record<CrmModuleName, PgTable> = { LEADS: leads, CONTACTS: contacts, ACCOUNTS: accounts, DEALS: deals };
const BASE = ['id', 'organization_id', 'owner_id', 'created_at', 'updated_at'];
const RETENTION = ['retention_state', 'retention_ends_at', 'deletes_at', 'masked_at', 'legal_hold', 'retention_source', 'retention_version'];
const SQL_TYPE: Record<FieldKind, string> = {
  text: 'text',
  email: 'text',
  currency: 'text',
  amount: 'double precision',
  date: 'date',
  ref: 'uuid',
};

describe('the CRM registry and the drizzle tables', () => {
  for (const module of CRM_MODULE_NAMES) {
    it(`${module}: same table, columns, types and NOT NULL`, () => {
      const spec = MODULES[module];
      const table = TABLES[module];
      expect(getTableName(table)).toBe(spec.table);
      const columns = new Map(Object.values(getTableColumns(table)).map((c) => [c.name, c]));
      for (const [field, rule] of Object.entries(spec.fields)) {
        const column = columns.get(rule.column);
        expect(column, `${module}.${field} → ${rule.column}`).toBeDefined();
        expect(column!.getSQLType(), `${module}.${field}`).toBe(SQL_TYPE[rule.kind]);
        expect(column!.notNull, `${module}.${field} NOT NULL`).toBe(rule.required === true);
      }
      const described = [...BASE, ...(spec.retention ? RETENTION : []), ...Object.values(spec.fields).map((f) => f.column)];
      expect([...columns.keys()].sort()).toEqual(described.sort());
    });
  }

  it('retention applies to the modules whose tables carry the retention columns', () => {
    const withState = CRM_MODULE_NAMES.filter((m) => Object.values(getTableColumns(TABLES[m])).some((c) => c.name === 'retention_state'));
    expect(RETENTION_MODULES).toEqual(withState);
  });

  // API.md §6: ids are unique per organization, and no key can point into another organization.
  for (const module of CRM_MODULE_NAMES) {
    it(`${module}: primary key (organization_id, id); owner and relations are keys within the organization`, () => {
      const config = getTableConfig(TABLES[module]);
      expect(config.primaryKeys.map((pk) => pk.columns.map((c) => c.name))).toEqual([['organization_id', 'id']]);
      expect(config.columns.filter((c) => c.primary)).toEqual([]);
      const keys = config.foreignKeys.map((fk) => {
        const ref = fk.reference();
        return { columns: ref.columns.map((c) => c.name), table: getTableName(ref.foreignTable), foreign: ref.foreignColumns.map((c) => c.name) };
      });
      const expected = [
        { columns: ['organization_id'], table: 'organizations', foreign: ['id'] },
        { columns: ['organization_id', 'owner_id'], table: 'users', foreign: ['organization_id', 'id'] },
        ...Object.values(MODULES[module].fields)
          .filter((f) => f.kind === 'ref')
          .map((f) => ({ columns: ['organization_id', f.column], table: MODULES[f.ref!].table, foreign: ['organization_id', 'id'] })),
      ];
      const order = (k: { columns: string[] }) => k.columns.join();
      expect(keys.sort((x, y) => order(x).localeCompare(order(y)))).toEqual(expected.sort((x, y) => order(x).localeCompare(order(y))));
    });
  }

  it('every relation names a module and a GraphQL field', () => {
    for (const module of CRM_MODULE_NAMES) {
      for (const [field, rule] of Object.entries(MODULES[module].fields)) {
        if (rule.kind !== 'ref') continue;
        expect(CRM_MODULE_NAMES, `${module}.${field}`).toContain(rule.ref);
        expect(rule.relation, `${module}.${field}`).toBe(field.replace(/Id$/, ''));
      }
    }
  });
});
