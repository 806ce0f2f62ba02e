-- Two-factor sign-in (TOTP, RFC 6238) and re-authentication.
-- A person's own data key, wrapped by the master keyring as a workspace's is (its AAD names
-- `user:<id>`), for the secrets that belong to the person rather than to a workspace.
CREATE TABLE user_data_keys (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    master_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
-- A person's TOTP secret, sealed under their data key; pending (it signs nobody in) until a code
-- confirmed it. `created_at` names the enrolment: a confirmation holds only for the one it read.
CREATE TABLE two_factor (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    secret_ciphertext BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT,
    -- The time step (Unix seconds / 30) of the last code accepted: only a later one is accepted.
    last_step BIGINT
);
-- Recovery codes, each the SHA-256 of the code (hex), used once.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
-- A sign-in whose password was right, waiting for its second factor in the browser that holds the
-- challenge's cookie (its secret stored hashed), for five minutes, taken once.
CREATE TABLE second_factor_challenges (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX second_factor_challenges_user ON second_factor_challenges (user_id);
-- When the session last proved who it is (password, and the second factor where there is one):
-- sensitive changes need that within the last ten minutes. A session starts proven.
ALTER TABLE sessions ADD COLUMN reauthenticated_at BIGINT;
UPDATE sessions SET reauthenticated_at = created_at;
