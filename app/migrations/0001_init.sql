-- Entry types, their states, entries, notes, attachments, relationships, settings and full-text search.
CREATE TABLE entry_types (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  singular TEXT NOT NULL,
  plural TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE states (
  id INTEGER PRIMARY KEY,
  type_id INTEGER NOT NULL REFERENCES entry_types(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  color TEXT NOT NULL,
  is_open INTEGER NOT NULL CHECK (is_open IN (0, 1)),
  position INTEGER NOT NULL DEFAULT 0,
  UNIQUE (type_id, name),
  -- lets entries reference (state, type) so a state always belongs to the entry's type
  UNIQUE (id, type_id)
);

CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  type_id INTEGER NOT NULL REFERENCES entry_types(id),
  state_id INTEGER NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  planned_end TEXT,
  actual_end TEXT,
  archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  FOREIGN KEY (state_id, type_id) REFERENCES states(id, type_id)
);
CREATE INDEX entries_list ON entries (archived, created_at DESC, id DESC);
CREATE INDEX entries_type_state ON entries (type_id, state_id);
CREATE INDEX entries_state ON entries (state_id);

CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX notes_entry ON notes (entry_id, id);

CREATE TABLE attachments (
  id INTEGER PRIMARY KEY,
  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  note_id INTEGER REFERENCES notes(id) ON DELETE CASCADE,
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  size INTEGER NOT NULL,
  mime TEXT NOT NULL,
  filename TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX attachments_entry ON attachments (entry_id, id);
CREATE INDEX attachments_note ON attachments (note_id);

CREATE TABLE relationships (
  id INTEGER PRIMARY KEY,
  from_entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  to_entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  UNIQUE (from_entry_id, kind, to_entry_id),
  CHECK (from_entry_id <> to_entry_id)
);
CREATE INDEX relationships_to ON relationships (to_entry_id);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- One search row per entry (rowid = entry id); the triggers keep it in step.
CREATE VIRTUAL TABLE entries_fts USING fts5 (title, description, notes, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
  INSERT INTO entries_fts (rowid, title, description, notes) VALUES (new.id, new.title, new.description, '');
END;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, description ON entries BEGIN
  UPDATE entries_fts SET title = new.title, description = new.description WHERE rowid = new.id;
END;
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
  DELETE FROM entries_fts WHERE rowid = old.id;
END;
CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN
  UPDATE entries_fts SET notes = (SELECT coalesce(group_concat(body, ' '), '') FROM notes WHERE entry_id = new.entry_id)
  WHERE rowid = new.entry_id;
END;
CREATE TRIGGER notes_fts_update AFTER UPDATE OF body ON notes BEGIN
  UPDATE entries_fts SET notes = (SELECT coalesce(group_concat(body, ' '), '') FROM notes WHERE entry_id = new.entry_id)
  WHERE rowid = new.entry_id;
END;
CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
  UPDATE entries_fts SET notes = (SELECT coalesce(group_concat(body, ' '), '') FROM notes WHERE entry_id = old.entry_id)
  WHERE rowid = old.entry_id;
END;
