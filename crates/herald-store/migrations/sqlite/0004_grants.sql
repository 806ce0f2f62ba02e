-- A grant from a login that covers several accounts (Facebook Login: Pages and the Instagram
-- accounts linked to them). The user token is sealed with the workspace's data key, bound to the row.
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    login TEXT NOT NULL,
    external_user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    granted_scopes TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    token_issued_at BIGINT NOT NULL,
    token_expires_at BIGINT,
    sandbox BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (workspace_id, login, external_user_id)
);
-- How each profile was connected, the grant it came from, and when the person must log in again
-- (a Page token does not expire, but the grant behind it does).
ALTER TABLE profiles ADD COLUMN login TEXT NOT NULL DEFAULT 'instagram';
ALTER TABLE profiles ADD COLUMN grant_id TEXT REFERENCES grants(id);
ALTER TABLE profiles ADD COLUMN reconnect_by BIGINT;
-- Facts only the platform knows (Instagram's publishing quota), cached per profile.
CREATE TABLE profile_facts (
    profile_id TEXT PRIMARY KEY REFERENCES profiles(id),
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    quota_used BIGINT,
    quota_total BIGINT,
    fetched_at BIGINT NOT NULL
);
