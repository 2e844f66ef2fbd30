-- Deliberately not idempotent (no IF NOT EXISTS): applying it twice fails, which the migration tests rely on.
CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
