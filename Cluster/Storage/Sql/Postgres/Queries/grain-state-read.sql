SELECT version, payload::text
FROM grain_state
WHERE grain_type = @grain_type AND grain_key = @grain_key AND state_name = @state_name;
