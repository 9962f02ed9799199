-- Run once by the postgres image when its volume is new (compose.yaml mounts it in /docker-entrypoint-initdb.d).
-- pg_prewarm lets each sanyao instance ask, at its start, for the records to be read into the page cache
-- (docs/scale-out.md, "Records in the page cache"); sanyao does not install extensions itself.
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
