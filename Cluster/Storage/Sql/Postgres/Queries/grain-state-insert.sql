-- First write (the writer saw no record): insert, or revive a cleared row; returns nothing if a live record exists.
INSERT INTO grain_state (grain_type, grain_key, state_name, version, payload, modified_at)
VALUES (@grain_type, @grain_key, @state_name, 1, @payload::jsonb, now())
ON CONFLICT (grain_type, grain_key, state_name) DO UPDATE
  SET version = grain_state.version + 1, payload = excluded.payload, modified_at = excluded.modified_at
  WHERE grain_state.payload IS NULL
RETURNING version;
