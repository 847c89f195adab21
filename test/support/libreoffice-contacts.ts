import type { CellValue } from '../../src/export/module-columns.ts';

/**
 * The contacts that scripts/make-libreoffice-fixtures.ts writes with the service's own writers and re-saves with
 * LibreOffice Calc (test/fixtures/libreoffice/), and that the import tests expect back, field by field. Values are
 * what spreadsheets tend to damage: phones starting with `+`, text starting a formula, a real leading `'`,
 * booleans, dates with milliseconds, quotes, commas, line breaks and non-Latin text. Dates are epoch ms.
 */
export const LIBREOFFICE_CONTACTS: Record<string, CellValue>[] = [
  {
    id: '6f1c1a52-6a57-4c1e-9a8e-0c7d2f5b1a01',
    firstName: 'Mei Ling',
    lastName: 'Tan',
    email: 'mei.ling@example.com',
    phone: '+65 9123 4567',
    jobTitle: '-Head of Sales-',
    address: '@Marina Bay 1, Singapore',
    notes: '=HYPERLINK("http://example.com")',
    createdAt: Date.UTC(2026, 0, 31, 9, 30, 0, 123),
    updatedAt: Date.UTC(2026, 1, 2, 17, 5, 59, 999),
    legalHold: false,
  },
  {
    id: '6f1c1a52-6a57-4c1e-9a8e-0c7d2f5b1a02',
    firstName: 'Zoë',
    lastName: "O'Brien",
    email: 'zoe@example.org',
    phone: '+1 (555) 010-9999',
    jobTitle: 'Manager, "EMEA"',
    address: 'Line one\nLine two',
    notes: "'quoted in the data",
    createdAt: Date.UTC(2025, 11, 24, 0, 0, 0, 0),
    updatedAt: Date.UTC(2026, 0, 1, 12, 0, 0, 1),
    legalHold: true,
  },
  {
    id: '6f1c1a52-6a57-4c1e-9a8e-0c7d2f5b1a03',
    firstName: '李',
    lastName: '小龍',
    email: null,
    phone: '0091 22 1234 5678',
    jobTitle: null,
    address: null,
    notes: '+ plus and - minus',
    createdAt: Date.UTC(2024, 1, 29, 23, 59, 59, 500),
    updatedAt: Date.UTC(2024, 2, 1, 0, 0, 0, 0),
    legalHold: false,
  },
];
