import { describe, expect, it } from 'vitest';
import { MODULES } from '../../src/modules/crm/crm.modules.ts';
import { referenceRaceAsBadInput } from '../../src/modules/crm/crm.service.ts';
import { AppError } from '../../src/shared/app-error.ts';

describe('a foreign key failing after the reference check', () => {
  it('becomes BAD_USER_INPUT naming the reference field', () => {
    const error = Object.assign(new Error('insert or update violates foreign key'), {
      code: '23503',
      constraint: 'deals_contact_id_contacts_id_fk',
    });
    const mapped = referenceRaceAsBadInput(MODULES.DEALS, error);
    expect(mapped).toBeInstanceOf(AppError);
    expect((mapped as AppError).code).toBe('BAD_USER_INPUT');
    expect((mapped as AppError).details).toEqual({ field: 'contactId' });
  });

  it('leaves every other error as it is', () => {
    const unique = Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'contacts_pkey' });
    expect(referenceRaceAsBadInput(MODULES.CONTACTS, unique)).toBe(unique);
    const plain = new Error('boom');
    expect(referenceRaceAsBadInput(MODULES.CONTACTS, plain)).toBe(plain);
  });
});
