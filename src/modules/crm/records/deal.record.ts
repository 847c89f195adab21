import { defineRecord, NAME_MAX, ref, text } from './record-field.ts';

export const DEAL_RECORD = defineRecord({
  module: 'DEALS',
  table: 'deals',
  noun: 'deal',
  typeName: 'Deal',
  retention: false,
  fields: {
    name: text('name', NAME_MAX, { required: true }),
    amount: { column: 'amount', kind: 'amount', inputDescription: '>= 0' },
    currency: { column: 'currency', kind: 'currency', inputDescription: 'ISO 4217, e.g. SGD' },
    stage: text('stage', 50),
    closeDate: { column: 'close_date', kind: 'date', description: 'YYYY-MM-DD' },
    accountId: ref('account_id', 'ACCOUNTS', 'account'),
    contactId: ref('contact_id', 'CONTACTS', 'contact'),
  },
});
