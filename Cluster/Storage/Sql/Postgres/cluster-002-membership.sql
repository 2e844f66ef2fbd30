-- Cluster membership, like Orleans' ADO.NET membership tables. cluster_version holds one row per cluster whose version is
-- bumped, compare-and-swap, by every membership change (never by a heartbeat), so nodes notice changes and concurrent
-- writers cannot both win. cluster_members holds one row per node incarnation; times come from the database clock.
CREATE TABLE IF NOT EXISTS cluster_version (
  cluster_id  text        NOT NULL PRIMARY KEY,
  version     bigint      NOT NULL,
  modified_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS cluster_members (
  cluster_id     text        NOT NULL REFERENCES cluster_version (cluster_id),
  node_id        text        NOT NULL,
  incarnation    bigint      NOT NULL,
  endpoint       text        NOT NULL,
  host_name      text        NOT NULL,
  status         text        NOT NULL CHECK (status IN ('Joining', 'Active', 'ShuttingDown', 'Dead')),
  etag           bigint      NOT NULL,
  start_time     timestamptz NOT NULL,
  last_heartbeat timestamptz NOT NULL,
  PRIMARY KEY (cluster_id, node_id, incarnation)
);
