-- Grain state: one row per (grain type, key, state name). version is the ETag; payload NULL marks a cleared state
-- (the row is kept so its version keeps increasing).
CREATE TABLE IF NOT EXISTS grain_state (
  grain_type  text        NOT NULL,
  grain_key   text        NOT NULL,
  state_name  text        NOT NULL,
  version     bigint      NOT NULL,
  payload     jsonb       NULL,
  modified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (grain_type, grain_key, state_name)
);
