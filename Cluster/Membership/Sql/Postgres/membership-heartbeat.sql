-- The database's clock, never the node's: death is decided by comparing two database timestamps, so node clock skew cannot
-- kill a healthy node. No version or etag change, so heartbeats never make other writers' compare-and-swap fail; the load
-- rides along so that readers see it at the next read without a membership change.
UPDATE cluster_members
SET last_heartbeat = now(), load = @load
WHERE cluster_id = @cluster_id AND node_id = @node_id AND incarnation = @incarnation AND status <> 'Dead';
