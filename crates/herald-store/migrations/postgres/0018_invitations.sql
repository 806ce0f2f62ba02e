-- Invitations to a workspace: a link for one email and one role, its secret stored hashed, accepted
-- once before it expires unless it was revoked first.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    -- Lower-cased; an invitation lets this email sign up where sign-up is closed.
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    -- The SHA-256 of the link's secret, hex.
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT,
    revoked_at BIGINT
);
CREATE INDEX invitations_workspace ON invitations (workspace_id, created_at);
