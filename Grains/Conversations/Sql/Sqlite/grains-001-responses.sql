-- One row per turn of a conversation: append-only, keyed by response id (the idempotence key).
CREATE TABLE IF NOT EXISTS responses (
    id                   TEXT    NOT NULL PRIMARY KEY,
    conversation_id      TEXT    NOT NULL,
    previous_response_id TEXT    NULL,
    model                TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    completed_at         INTEGER NULL,
    instructions         TEXT    NULL,
    metadata             TEXT    NULL,
    input                TEXT    NOT NULL,
    output_text          TEXT    NOT NULL DEFAULT '',
    usage                TEXT    NULL,
    error                TEXT    NULL,
    reasoning_effort     TEXT    NULL,
    deleted_at           INTEGER NULL
);

CREATE INDEX IF NOT EXISTS responses_conversation_idx ON responses (conversation_id, created_at);
