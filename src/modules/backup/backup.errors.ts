import { AppError } from '../../shared/app-error.ts';

/** The backup rules' errors (API.md §4); the GraphQL mapping is in src/graphql/errors.ts. */
export const backupInProgress = (): AppError => new AppError('BACKUP_IN_PROGRESS', 'Backup is already in process');

export const backupAlreadyStarted = (): AppError =>
  new AppError('BACKUP_ALREADY_STARTED', 'The backup has already started and can no longer be cancelled');

export const backupNotCancellable = (status: string): AppError =>
  new AppError('BACKUP_NOT_CANCELLABLE', `A ${status} backup cannot be cancelled`, { status });

export const backupNotDownloadable = (status: string): AppError =>
  new AppError(
    'BACKUP_NOT_DOWNLOADABLE',
    status === 'COMPLETED' ? 'The archive of this backup is no longer kept' : `A ${status} backup has no archive to download`,
    { status },
  );
