import { AppError, badInput } from '../../shared/app-error.ts';

/** A STANDARD user changes (the retention of, or the fields of) a MASKED record (API.md §4). */
export const maskedRecordAdminOnly = (noun: string): AppError =>
  new AppError('MASKED_RECORD_ADMIN_ONLY', `This ${noun} is masked: only an admin may change it`);

/** A record on legal hold: no one deletes it, and only an ADMIN changes it (API.md §6 "Rules"). */
export const recordOnLegalHold = (noun: string, change: 'delete' | 'change'): AppError =>
  new AppError(
    'RECORD_ON_LEGAL_HOLD',
    change === 'delete'
      ? `This ${noun} is on legal hold: it cannot be deleted until the hold is lifted`
      : `This ${noun} is on legal hold: only an admin may change it`,
  );

/** A retention date needs a policy in force to say when the record is then deleted. */
export const retentionOff = (module: string): AppError =>
  badInput('module', `retention is off for ${module}: turn on the organization's retention and the module's policy first`);
