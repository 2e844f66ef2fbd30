-- Clearing keeps a tombstone with a bumped version, so a writer holding an older version can never match again.
UPDATE grain_state
SET version = version + 1, payload = NULL, modified_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE grain_type = @grain_type AND grain_key = @grain_key AND state_name = @state_name
  AND version = @expected AND payload IS NOT NULL
RETURNING version;
