-- Compare-and-swap on the version row; the heartbeat age is re-checked here, on the database clock, so a node that
-- heartbeat after the caller's read is not declared dead.
WITH bumped AS (
  UPDATE cluster_version
  SET version = version + 1, modified_at = now()
  WHERE cluster_id = @cluster_id AND version = @expected_version
    AND EXISTS (
      SELECT 1 FROM cluster_members
      WHERE cluster_id = @cluster_id AND node_id = @node_id AND incarnation = @incarnation
        AND status <> 'Dead' AND last_heartbeat <= now() - @min_heartbeat_age)
  RETURNING version
)
UPDATE cluster_members AS m
SET status = 'Dead', etag = m.etag + 1
FROM bumped
WHERE m.cluster_id = @cluster_id AND m.node_id = @node_id AND m.incarnation = @incarnation
RETURNING m.etag;
