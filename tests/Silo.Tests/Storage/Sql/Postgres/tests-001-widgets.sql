-- Deliberately not idempotent (no IF NOT EXISTS): applying it twice fails, which the migration tests rely on.
CREATE TABLE widgets (id integer PRIMARY KEY, name text NOT NULL);
