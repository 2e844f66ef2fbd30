-- Cluster membership, like Orleans' ADO.NET membership tables (see the PostgreSQL script). Single-node mode keeps membership
-- in memory; the tables exist so that the schema is the same on both providers.
CREATE TABLE IF NOT EXISTS cluster_version (
  cluster_id  TEXT    NOT NULL PRIMARY KEY,
  version     INTEGER NOT NULL,
  modified_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS cluster_members (
  cluster_id     TEXT    NOT NULL REFERENCES cluster_version (cluster_id),
  node_id        TEXT    NOT NULL,
  incarnation    INTEGER NOT NULL,
  endpoint       TEXT    NOT NULL,
  host_name      TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('Joining', 'Active', 'ShuttingDown', 'Dead')),
  etag           INTEGER NOT NULL,
  start_time     TEXT    NOT NULL,
  last_heartbeat TEXT    NOT NULL,
  PRIMARY KEY (cluster_id, node_id, incarnation)
) WITHOUT ROWID;
