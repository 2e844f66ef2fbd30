-- One statement, so the rows and the version come from one snapshot; now() lets callers measure heartbeat ages on the
-- database clock. A cluster without members yields one row with NULL member columns.
SELECT v.version, now() AS database_now,
       m.node_id, m.incarnation, m.endpoint, m.host_name, m.status, m.etag, m.start_time, m.last_heartbeat,
       m.metadata::text AS metadata, m.load
FROM cluster_version v
LEFT JOIN cluster_members m ON m.cluster_id = v.cluster_id
WHERE v.cluster_id = @cluster_id
ORDER BY m.node_id, m.incarnation;
