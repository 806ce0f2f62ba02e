-- Sessions get a public id (to list and revoke them), when they were last used (the idle timeout),
-- and the browser and address they came from. Sessions from before have none of this: they end,
-- and everyone signs in once more.
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN address TEXT;
-- Partial, so a process still on the previous version (inserting no id) cannot collide on ''.
CREATE UNIQUE INDEX sessions_id ON sessions (id) WHERE id <> '';
CREATE INDEX sessions_user ON sessions (user_id);
-- API tokens expire: those made before get 90 days from this upgrade.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
UPDATE api_tokens SET expires_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) * 1000000 + CAST(90 AS BIGINT) * 86400 * 1000000;
-- Failed sign-ins, counted per (email, client address) and per email; keys are SHA-256 hex (a
-- fixed size for any input; not a secret: a guess of the email and address can be checked), and
-- rows go an hour after their last failure.
CREATE TABLE signin_failures (
    scope TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    PRIMARY KEY (scope, key_hash)
);
-- Sign-ups per client address in the current hour.
CREATE TABLE signup_attempts (
    key_hash TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
-- A connection started without a browser session (an API token): the callback exchanged the code
-- at once and sealed what it got here; it becomes a profile only when the same user confirms it,
-- signed in, in the browser that came back from the platform (which holds the row's cookie).
CREATE TABLE pending_connections (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    platform TEXT NOT NULL,
    sandbox BOOLEAN NOT NULL,
    browser_hash TEXT NOT NULL,
    account TEXT NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_connections_expiry ON pending_connections (expires_at);
