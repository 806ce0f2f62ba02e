-- Drafts: a post being written, with no time and no deliveries, kept as the composer's input (JSON)
-- whatever rules it breaks; scheduling one checks it in full and makes a post of it.
CREATE TABLE drafts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX drafts_workspace ON drafts (workspace_id, updated_at);
