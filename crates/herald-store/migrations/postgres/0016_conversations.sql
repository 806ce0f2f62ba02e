-- A profile's conversations login: the second authorization a profile adds to read and answer
-- its comments where the login that publishes has none (TikTok's API for Business). Its tokens
-- are the profile's `conversations_token` and `conversations_refresh_token` secrets.
CREATE TABLE conversations (
    profile_id TEXT PRIMARY KEY REFERENCES profiles(id),
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    login TEXT NOT NULL,
    external_id TEXT NOT NULL,
    handle TEXT NOT NULL,
    granted_scopes TEXT NOT NULL,
    token_expires_at BIGINT,
    -- `connected`, or `needs_reconnect` once the platform refused its renewal.
    state TEXT NOT NULL,
    -- Whether its tokens came from the sandbox (they go nowhere else).
    sandbox BOOLEAN NOT NULL,
    refresh_owner TEXT,
    refresh_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The profile an authorization adds a conversations login to (none: it connects profiles).
ALTER TABLE oauth_states ADD COLUMN profile_id TEXT;
