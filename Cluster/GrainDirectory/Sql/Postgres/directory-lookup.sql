-- Entries carry no lease: an entry is valid exactly while its owner incarnation is a member that is not dead.
SELECT d.node_id, d.incarnation, d.endpoint, d.activation_id
FROM grain_directory d
JOIN cluster_members m
  ON m.cluster_id = @cluster_id AND m.node_id = d.node_id AND m.incarnation = d.incarnation AND m.status <> 'Dead'
WHERE d.grain_type = @grain_type AND d.grain_key = @grain_key;
