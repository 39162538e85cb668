-- What the type, state and relationship pages need. Expand-only: the previous version ignores the
-- new columns and the new table.
-- A type's default state for new entries (NULL: its first open state, as before).
ALTER TABLE entry_types ADD COLUMN default_state_id INTEGER REFERENCES states(id) ON DELETE SET NULL;

-- Relationship definitions: which type links to which, the label of each side, and how many.
CREATE TABLE relationship_types (
  id INTEGER PRIMARY KEY,
  from_type_id INTEGER NOT NULL REFERENCES entry_types(id),
  to_type_id INTEGER NOT NULL REFERENCES entry_types(id),
  label TEXT NOT NULL,
  reverse_label TEXT NOT NULL,
  cardinality TEXT NOT NULL CHECK (cardinality IN ('one-to-one', 'one-to-many', 'many-to-one', 'many-to-many')),
  created_at TEXT NOT NULL,
  UNIQUE (from_type_id, to_type_id, label)
);
CREATE INDEX relationship_types_to ON relationship_types (to_type_id);

-- A relationship made through a definition names it; free-form kinds (NULL here) keep working.
ALTER TABLE relationships ADD COLUMN type_id INTEGER REFERENCES relationship_types(id);
CREATE INDEX relationships_type ON relationships (type_id, from_entry_id);
