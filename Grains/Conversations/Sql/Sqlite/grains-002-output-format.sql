-- The structured output a turn asked for (JSON of OutputFormat: type, name, schema, strict), echoed as text.format; null for plain text.
ALTER TABLE responses ADD COLUMN output_format TEXT NULL;
