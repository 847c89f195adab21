import { ADDRESS_MAX, defineRecord, NAME_MAX, PHONE_MAX, text } from './record-field.ts';

export const ACCOUNT_RECORD = defineRecord({
  module: 'ACCOUNTS',
  table: 'accounts',
  noun: 'account',
  typeName: 'Account',
  retention: false,
  fields: {
    name: text('name', NAME_MAX, { required: true }),
    domain: text('domain', 253),
    industry: text('industry', 100),
    phone: text('phone', PHONE_MAX),
    address: text('address', ADDRESS_MAX),
  },
});
