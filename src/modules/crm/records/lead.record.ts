import { defineRecord, NAME_MAX, personalNotes, personFields, text } from './record-field.ts';

export const LEAD_RECORD = defineRecord({
  module: 'LEADS',
  table: 'leads',
  noun: 'lead',
  typeName: 'Lead',
  retention: true,
  fields: {
    ...personFields(),
    company: text('company', NAME_MAX),
    title: text('title', NAME_MAX),
    website: text('website', 2048, { addedLater: true }),
    status: text('status', 50),
    source: text('source', 100),
    notes: personalNotes(),
  },
});
