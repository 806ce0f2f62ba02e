-- What an Idempotency-Key was first used for, so a different request with the same key is refused.
ALTER TABLE posts ADD COLUMN request_hash TEXT;
