-- Compare-and-swap on both the version row and the member's etag; a dead row is final and never updated. The load is left
-- alone: only heartbeats write it.
WITH bumped AS (
  UPDATE cluster_version
  SET version = version + 1, modified_at = now()
  WHERE cluster_id = @cluster_id AND version = @expected_version
    AND EXISTS (
      SELECT 1 FROM cluster_members
      WHERE cluster_id = @cluster_id AND node_id = @node_id AND incarnation = @incarnation
        AND etag = @expected_etag AND status <> 'Dead')
  RETURNING version
)
UPDATE cluster_members AS m
SET status = @status, endpoint = @endpoint, host_name = @host_name, metadata = CAST(@metadata AS jsonb), etag = m.etag + 1
FROM bumped
WHERE m.cluster_id = @cluster_id AND m.node_id = @node_id AND m.incarnation = @incarnation
RETURNING m.etag;
