-- Indexes for the list filters of GET /api/entries and the list page: archived together with a type
-- or a state (the count of a filtered list no longer reads every entry of that type or state).
-- No index on archived alone: both of these lead with it, and so does entries_list.
-- Expand-only: the previous version runs unchanged on this schema.
CREATE INDEX entries_archived_type ON entries (archived, type_id);
CREATE INDEX entries_archived_state ON entries (archived, state_id);
