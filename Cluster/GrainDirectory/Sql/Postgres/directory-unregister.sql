-- Conditional on the activation: a late unregister can never remove a newer registration of the same grain.
DELETE FROM grain_directory
WHERE grain_type = @grain_type AND grain_key = @grain_key
  AND node_id = @node_id AND incarnation = @incarnation AND activation_id = @activation_id;
