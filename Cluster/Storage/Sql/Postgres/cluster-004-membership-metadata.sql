-- What each node declares about itself for placement (Orleans' SiloMetadata, e.g. {"providers": "codex,claude"}), written
-- when it joins or changes status, and its load at its last heartbeat (0 idle, 1 saturated, may exceed 1), written by every
-- heartbeat without bumping the version. Existing rows get no metadata and load 0.
ALTER TABLE cluster_members
  ADD COLUMN IF NOT EXISTS metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object');

ALTER TABLE cluster_members
  ADD COLUMN IF NOT EXISTS load double precision NOT NULL DEFAULT 0;
