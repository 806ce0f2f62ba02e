-- The pages read posts by workspace in time order (calendar ranges, the list, the dashboard's next
-- days) and count posts by their deliveries' status or profile: indexes for each, so a workspace
-- with many posts is not scanned whole.
CREATE INDEX posts_workspace_time ON posts (workspace_id, scheduled_at, id);
CREATE INDEX deliveries_status_workspace ON deliveries (status, workspace_id, post_id);
CREATE INDEX deliveries_profile ON deliveries (profile_id, post_id);
