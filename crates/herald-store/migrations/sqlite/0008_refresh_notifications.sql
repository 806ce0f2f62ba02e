-- One token refresh per profile at a time, across every process: a lease on the profile's row
-- (a refresh that failed for a passing reason keeps it, as its back-off).
ALTER TABLE profiles ADD COLUMN refresh_owner TEXT;
ALTER TABLE profiles ADD COLUMN refresh_until BIGINT;
-- In-app notifications: what needs a person, each linking to what it is about, recorded once per
-- occurrence (`dedupe_key`); read state per user.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    link TEXT NOT NULL,
    message TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, dedupe_key)
);
CREATE INDEX notifications_recent ON notifications (workspace_id, created_at);
CREATE TABLE notification_reads (
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (notification_id, user_id)
);
