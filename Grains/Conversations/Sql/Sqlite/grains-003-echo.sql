-- Request parameters the response echoes as given (JSON of ResponseEcho: temperature, top_p, parallel_tool_calls,
-- max_output_tokens); null for OpenAI's defaults. Streams and GET show the same values.
ALTER TABLE responses ADD COLUMN echo TEXT NULL;
