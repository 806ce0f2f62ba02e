-- Approvals: a workspace may require an admin's or owner's approval before an editor's post is
-- published (its deliveries wait as `pending_approval`, which the dispatcher never claims).
ALTER TABLE workspaces ADD COLUMN require_approval BIGINT NOT NULL DEFAULT 0;
-- Each decision about a post, oldest first: `submitted` (made or edited by an editor),
-- `approved` or `rejected` (by an admin or owner, with their comment), `expired` (its time
-- came first: no one decided, so `decided_by` is NULL).
CREATE TABLE post_approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    post_id TEXT NOT NULL REFERENCES posts(id),
    decision TEXT NOT NULL,
    decided_by TEXT REFERENCES users(id),
    comment TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX post_approvals_post ON post_approvals (workspace_id, post_id, id);
