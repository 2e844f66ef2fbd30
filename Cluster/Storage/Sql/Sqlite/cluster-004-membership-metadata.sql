-- Node metadata and load, as in the PostgreSQL script (there a jsonb column; here JSON text), so that the membership schema
-- and the migration ids stay the same on both providers. Single-node mode keeps membership in memory.
ALTER TABLE cluster_members ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_type(metadata) = 'object');

ALTER TABLE cluster_members ADD COLUMN load REAL NOT NULL DEFAULT 0;
