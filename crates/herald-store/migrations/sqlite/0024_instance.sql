-- The instance, claimed once by its first account, which becomes its administrator: the row's
-- single possible key makes the claim race-safe. An instance that already had accounts is claimed
-- by its oldest one.
CREATE TABLE instance (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    claimed_by TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);
ALTER TABLE users ADD COLUMN instance_admin BOOLEAN NOT NULL DEFAULT FALSE;
INSERT INTO instance (id, claimed_by, claimed_at)
    SELECT 1, id, created_at FROM users ORDER BY created_at, id LIMIT 1;
UPDATE users SET instance_admin = TRUE WHERE id IN (SELECT claimed_by FROM instance);
