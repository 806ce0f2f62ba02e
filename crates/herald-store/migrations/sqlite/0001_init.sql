-- Herald's schema (SQLite). Instants are microseconds since the Unix epoch, in UTC.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE TABLE data_keys (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id),
    master_version BIGINT NOT NULL,
    wrapped BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    session_hash TEXT,
    platform TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    pkce_verifier BLOB,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE profiles (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    handle TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    granted_scopes TEXT NOT NULL,
    token_issued_at BIGINT,
    token_expires_at BIGINT,
    sandbox BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (workspace_id, platform, external_id)
);
CREATE TABLE profile_secrets (
    profile_id TEXT NOT NULL REFERENCES profiles(id),
    kind TEXT NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    ciphertext BLOB NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (profile_id, kind)
);
CREATE TABLE media (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    width BIGINT,
    height BIGINT,
    sha256 TEXT NOT NULL,
    original_name TEXT,
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    text TEXT NOT NULL,
    media_ids TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    time_zone TEXT NOT NULL,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (workspace_id, created_by, idempotency_key)
);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    post_id TEXT NOT NULL REFERENCES posts(id),
    profile_id TEXT NOT NULL REFERENCES profiles(id),
    text_override TEXT,
    media_override TEXT,
    options TEXT,
    status TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    fence BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    handle TEXT,
    platform_post_id TEXT,
    permalink TEXT,
    error_code TEXT,
    error_message TEXT,
    updated_at BIGINT NOT NULL,
    UNIQUE (post_id, profile_id)
);
CREATE INDEX deliveries_due ON deliveries (status, due_at);
CREATE TABLE delivery_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    at BIGINT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    fence BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX delivery_events_delivery ON delivery_events (delivery_id, at);
