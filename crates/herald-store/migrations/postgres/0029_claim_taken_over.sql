-- Whether the latest claim took the delivery over from a worker whose lease had lapsed (counted
-- by /metrics as a lease takeover).
ALTER TABLE deliveries ADD COLUMN taken_over BIGINT NOT NULL DEFAULT 0;
