-- The cluster's version row; every membership change is a compare-and-swap on it. Idempotent: run by each node once.
INSERT INTO cluster_version (cluster_id, version)
VALUES (@cluster_id, 0)
ON CONFLICT (cluster_id) DO NOTHING;
