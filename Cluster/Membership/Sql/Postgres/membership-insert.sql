-- Compare-and-swap on the version row: the member row is inserted only by the statement that moved the version from
-- @expected_version. Concurrent writers queue on the version row's lock and re-check the version, so exactly one wins.
WITH bumped AS (
  UPDATE cluster_version
  SET version = version + 1, modified_at = now()
  WHERE cluster_id = @cluster_id AND version = @expected_version
    AND NOT EXISTS (
      SELECT 1 FROM cluster_members
      WHERE cluster_id = @cluster_id AND node_id = @node_id AND incarnation = @incarnation)
  RETURNING version
)
INSERT INTO cluster_members (cluster_id, node_id, incarnation, endpoint, host_name, status, etag, start_time, last_heartbeat, metadata, load)
SELECT @cluster_id, @node_id, @incarnation, @endpoint, @host_name, @status, 1, now(), now(), CAST(@metadata AS jsonb), @load
FROM bumped
RETURNING etag;
