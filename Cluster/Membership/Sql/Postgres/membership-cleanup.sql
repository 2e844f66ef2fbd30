-- Active rows are never deleted here: a live node's row must outlive any pause; a crashed one is declared dead first.
DELETE FROM cluster_members
WHERE cluster_id = @cluster_id AND status <> 'Active' AND last_heartbeat <= now() - @older_than;
