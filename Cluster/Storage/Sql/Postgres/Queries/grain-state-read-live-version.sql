SELECT version
FROM grain_state
WHERE grain_type = @grain_type AND grain_key = @grain_key AND state_name = @state_name AND payload IS NOT NULL;
