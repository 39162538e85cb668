-- Server-side sessions: a session cookie is valid only while its row exists, so logging out
-- (which deletes the row) ends it even for a copy of the cookie kept from before.
-- Attachment hashes: a backup or an old writer can no longer add a row whose sha256 is not 64
-- lowercase hex digits (it names a file path under uploads/).
-- Expand-only: the previous version never reads sessions and only inserts sha256 hex digests.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TRIGGER attachments_sha256_insert BEFORE INSERT ON attachments
WHEN length(new.sha256) <> 64 OR new.sha256 GLOB '*[^0-9a-f]*'
BEGIN
  SELECT RAISE(ABORT, 'attachments.sha256 must be 64 lowercase hex digits');
END;
CREATE TRIGGER attachments_sha256_update BEFORE UPDATE OF sha256 ON attachments
WHEN length(new.sha256) <> 64 OR new.sha256 GLOB '*[^0-9a-f]*'
BEGIN
  SELECT RAISE(ABORT, 'attachments.sha256 must be 64 lowercase hex digits');
END;
