-- Only entries of an incarnation that is dead or gone from membership: a live node's registrations are never dropped here.
DELETE FROM grain_directory AS d
WHERE d.node_id = @node_id AND d.incarnation = @incarnation
  AND NOT EXISTS (
    SELECT 1 FROM cluster_members m
    WHERE m.cluster_id = @cluster_id AND m.node_id = d.node_id AND m.incarnation = d.incarnation AND m.status <> 'Dead');
