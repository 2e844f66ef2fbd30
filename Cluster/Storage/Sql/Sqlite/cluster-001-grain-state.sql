-- Grain state: one row per (grain type, key, state name). version is the ETag; payload NULL marks a cleared state
-- (the row is kept so its version keeps increasing).
CREATE TABLE IF NOT EXISTS grain_state (
  grain_type  TEXT    NOT NULL,
  grain_key   TEXT    NOT NULL,
  state_name  TEXT    NOT NULL,
  version     INTEGER NOT NULL,
  payload     TEXT    NULL,
  modified_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (grain_type, grain_key, state_name)
) WITHOUT ROWID;
