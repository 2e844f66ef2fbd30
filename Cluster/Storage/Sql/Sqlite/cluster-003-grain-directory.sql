-- The grain directory (see the PostgreSQL script). Single-node mode keeps the directory in memory; the table exists so that
-- the schema is the same on both providers.
CREATE TABLE IF NOT EXISTS grain_directory (
  grain_type    TEXT    NOT NULL,
  grain_key     TEXT    NOT NULL,
  node_id       TEXT    NOT NULL,
  incarnation   INTEGER NOT NULL,
  endpoint      TEXT    NOT NULL,
  activation_id TEXT    NOT NULL,
  registered_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (grain_type, grain_key)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS grain_directory_owner ON grain_directory (node_id, incarnation);
