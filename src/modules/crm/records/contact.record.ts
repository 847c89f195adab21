import { ADDRESS_MAX, defineRecord, NAME_MAX, personalNotes, personFields, ref, text } from './record-field.ts';

export const CONTACT_RECORD = defineRecord({
  module: 'CONTACTS',
  table: 'contacts',
  noun: 'contact',
  typeName: 'Contact',
  retention: true,
  fields: {
    ...personFields(),
    jobTitle: text('job_title', NAME_MAX),
    address: text('address', ADDRESS_MAX, { personal: 'text' }),
    notes: personalNotes(),
    accountId: ref('account_id', 'ACCOUNTS', 'account'),
  },
});
