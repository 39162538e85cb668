-- A fresh instance can track entries right away; admins add their own types later.
INSERT INTO entry_types (key, singular, plural, created_at)
VALUES ('entry', 'Entry', 'Entries', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

INSERT INTO states (type_id, name, color, is_open, position)
SELECT id, 'Open', '#2f6fdb', 1, 0 FROM entry_types WHERE key = 'entry'
UNION ALL SELECT id, 'In progress', '#d98e04', 1, 1 FROM entry_types WHERE key = 'entry'
UNION ALL SELECT id, 'Done', '#2e8b57', 0, 2 FROM entry_types WHERE key = 'entry';
