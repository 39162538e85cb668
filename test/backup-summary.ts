/** One line of the app's `backup list --json` (app/src/backup.ts BackupSummary), for the CLI tests. */
export function backupSummary(
  id: string,
  createdAt: string,
  reason: string,
  appVersion: string,
  from: string | null,
  to: string | null,
) {
  return {
    id,
    createdAt,
    reason,
    appVersion,
    schemaVersion: 3,
    fromVersion: from,
    toVersion: to,
    entries: 1204,
    bytes: 5_342_208,
  };
}

/** Backups of `homebrews` around the roll from 1.3.0 to 1.4.0 (and a failed one to 1.3.1), newest first. */
export const HOMEBREWS = {
  scheduled140: backupSummary(
    "homebrews-20261125t020000004z-v1.4.0-s0003",
    "2026-11-25T02:00:00.004Z",
    "scheduled",
    "1.4.0",
    null,
    null,
  ),
  /** The pre-update backup of the roll's retry, the newest of that transition. */
  preUpdate140: backupSummary(
    "homebrews-20261124t092635081z-v1.4.0-s0003-from-1.3.0-to-1.4.0",
    "2026-11-24T09:26:35.081Z",
    "pre-update",
    "1.4.0",
    "1.3.0",
    "1.4.0",
  ),
  /** The pre-update backup of the first, failed roll to 1.4.0. */
  preUpdate140First: backupSummary(
    "homebrews-20261124t090312460z-v1.4.0-s0003-from-1.3.0-to-1.4.0",
    "2026-11-24T09:03:12.460Z",
    "pre-update",
    "1.4.0",
    "1.3.0",
    "1.4.0",
  ),
  scheduled130: backupSummary(
    "homebrews-20261124t020000007z-v1.3.0-s0003",
    "2026-11-24T02:00:00.007Z",
    "scheduled",
    "1.3.0",
    null,
    null,
  ),
  preUpdate131: backupSummary(
    "homebrews-20261117t100946311z-v1.3.1-s0003-from-1.3.0-to-1.3.1",
    "2026-11-17T10:09:46.311Z",
    "pre-update",
    "1.3.1",
    "1.3.0",
    "1.3.1",
  ),
};
