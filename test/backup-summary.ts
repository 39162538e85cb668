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
