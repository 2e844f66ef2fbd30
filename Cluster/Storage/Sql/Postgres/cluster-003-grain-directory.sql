-- The grain directory: at most one registered activation per grain. No lease: an entry is valid while its owner
-- (node_id, incarnation) is a cluster_members row that is not Dead. The owner index serves dropping a dead node's entries.
CREATE TABLE IF NOT EXISTS grain_directory (
  grain_type    text        NOT NULL,
  grain_key     text        NOT NULL,
  node_id       text        NOT NULL,
  incarnation   bigint      NOT NULL,
  endpoint      text        NOT NULL,
  activation_id text        NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (grain_type, grain_key)
);

CREATE INDEX IF NOT EXISTS grain_directory_owner ON grain_directory (node_id, incarnation);
