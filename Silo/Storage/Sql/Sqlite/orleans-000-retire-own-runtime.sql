-- Before Orleans, our own runtime kept membership, its grain directory and grain state in these tables. Orleans keeps them in
-- its own tables now (OrleansMembershipTable, OrleansStorage); a conversation's old state (its head and CLI session) is not
-- carried over: its next turn starts a fresh CLI session seeded with the stored history, which the responses table keeps.
DROP TABLE IF EXISTS grain_directory;
DROP TABLE IF EXISTS cluster_members;
DROP TABLE IF EXISTS cluster_version;
DROP TABLE IF EXISTS grain_state;
