UPDATE grain_state
SET version = version + 1, payload = @payload::jsonb, modified_at = now()
WHERE grain_type = @grain_type AND grain_key = @grain_key AND state_name = @state_name
  AND version = @expected AND payload IS NOT NULL
RETURNING version;
