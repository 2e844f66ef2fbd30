-- First writer wins. An existing entry is replaced only when its owner incarnation is dead, or gone from membership and
-- registered before this statement began (an owner that joined and registered while we waited for the lock is not in our
-- snapshot, yet alive). ON CONFLICT locks the existing row and evaluates the condition on its newest version, so of
-- concurrent replacers exactly one wins and the others see the winner's live owner. Returns a row only to the winner.
INSERT INTO grain_directory AS d (grain_type, grain_key, node_id, incarnation, endpoint, activation_id, registered_at)
VALUES (@grain_type, @grain_key, @node_id, @incarnation, @endpoint, @activation_id, now())
ON CONFLICT (grain_type, grain_key) DO UPDATE
SET node_id = excluded.node_id, incarnation = excluded.incarnation, endpoint = excluded.endpoint,
    activation_id = excluded.activation_id, registered_at = excluded.registered_at
WHERE coalesce(
  (SELECT m.status = 'Dead' FROM cluster_members m
   WHERE m.cluster_id = @cluster_id AND m.node_id = d.node_id AND m.incarnation = d.incarnation),
  d.registered_at < now())
RETURNING d.activation_id;
