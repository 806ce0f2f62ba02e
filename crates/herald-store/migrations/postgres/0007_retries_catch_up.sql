-- Bounded retries: transient failures and processing re-checks so far, counted per delivery.
ALTER TABLE deliveries ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN checks BIGINT NOT NULL DEFAULT 0;
-- Whether the call that makes the post visible may have been made (kept with every handle write):
-- such a delivery can no longer be cancelled, and is never published afresh without the person.
ALTER TABLE deliveries ADD COLUMN may_be_live BIGINT NOT NULL DEFAULT 0;
-- The instant the catch-up window counts from when the person said "publish now" (NULL: the
-- post's scheduled time).
ALTER TABLE deliveries ADD COLUMN window_from BIGINT;
-- How late a delivery may still go out by itself, per workspace.
ALTER TABLE workspaces ADD COLUMN catch_up_minutes BIGINT NOT NULL DEFAULT 15;
