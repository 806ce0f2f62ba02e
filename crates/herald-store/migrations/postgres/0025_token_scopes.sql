-- Scoped API tokens: bound to one workspace, holding the scopes listed (space-separated). A token
-- made before scopes existed has neither and keeps its owner's rights; the API and the settings
-- page mark it legacy until it is replaced.
ALTER TABLE api_tokens ADD COLUMN workspace_id TEXT REFERENCES workspaces(id);
ALTER TABLE api_tokens ADD COLUMN scopes TEXT;
CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id, user_id);
