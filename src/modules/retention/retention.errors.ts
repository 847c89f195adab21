import { AppError, badInput } from '../../shared/app-error.ts';

/** A STANDARD user changes (the retention of, or the fields of) a MASKED record (API.md §4). */
export const maskedRecordAdminOnly = (noun: string): AppError =>
  new AppError('MASKED_RECORD_ADMIN_ONLY', `This ${noun} is masked: only an admin may change it`);

/** A retention date needs a policy in force to say when the record is then deleted. */
export const retentionOff = (module: string): AppError =>
  badInput('module', `retention is off for ${module}: turn on the organization's retention and the module's policy first`);
