import { badInput } from '../../shared/app-error.ts';
import { isEmail, isUuid } from '../../shared/validation.ts';
import type { FieldSpec, FieldValues, ModuleSpec } from './crm.modules.ts';

/**
 * Checks and normalises the fields a client sent. `undefined` means "not given" (left unchanged on update);
 * `null` clears the field. The first problem throws BAD_USER_INPUT naming the field and the rule.
 */
export function validateFields(spec: ModuleSpec, input: Record<string, unknown>, mode: 'create' | 'update'): FieldValues {
  const values: FieldValues = {};
  for (const [field, rule] of Object.entries(spec.fields)) {
    const raw = input[field];
    if (raw === undefined) {
      if (mode === 'create' && rule.required) throw badInput(field, 'is required');
      continue;
    }
    values[field] = validateValue(field, rule, raw);
  }
  return values;
}

function validateValue(field: string, rule: FieldSpec, raw: unknown): string | number | null {
  if (raw === null || (typeof raw === 'string' && raw.trim() === '' && rule.kind !== 'text')) {
    if (rule.required) throw badInput(field, 'must not be empty');
    return null;
  }
  switch (rule.kind) {
    case 'text':
      return validText(field, rule, raw);
    case 'email':
      if (typeof raw !== 'string' || !isEmail(raw.trim())) throw badInput(field, 'must be a valid email address');
      return raw.trim();
    case 'amount':
      if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) {
        throw badInput(field, 'must be a number greater than or equal to 0');
      }
      return raw;
    case 'currency':
      if (typeof raw !== 'string' || !/^[A-Z]{3}$/.test(raw.trim())) {
        throw badInput(field, 'must be a three-letter ISO 4217 code, e.g. SGD');
      }
      return raw.trim();
    case 'date':
      if (typeof raw !== 'string' || !isCalendarDate(raw)) throw badInput(field, 'must be a date in the form YYYY-MM-DD');
      return raw;
    case 'ref':
      // Existence in the same organization is checked by the service (it needs the database).
      if (typeof raw !== 'string' || !isUuid(raw)) throw badInput(field, 'must be the id of a record of your organization');
      return raw.toLowerCase();
  }
}

function validText(field: string, rule: FieldSpec, raw: unknown): string | null {
  if (typeof raw !== 'string') throw badInput(field, 'must be text');
  // Text is stored as given (restores must reproduce it exactly); only required fields reject blank values.
  if (rule.required && raw.trim() === '') throw badInput(field, 'must not be empty');
  if (rule.max !== undefined && raw.length > rule.max) throw badInput(field, `must be at most ${rule.max} characters`);
  return raw;
}

export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}
