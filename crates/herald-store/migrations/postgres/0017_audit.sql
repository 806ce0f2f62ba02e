-- The audit log: who did what, when and from where. Each workspace has a chain of entries (and the
-- instance one, `instance`), each entry's MAC covering the entry and the MAC before it, under a key
-- derived from the master keyring. A chain's row is its head: appending updates it, and taking its
-- row first serialises appends to one chain.
CREATE TABLE audit_chains (
    -- A workspace's id, or `instance`.
    chain TEXT PRIMARY KEY,
    -- The newest entry's seq (0 while empty) and MAC (hex; 64 zeros while empty: the genesis).
    head_seq BIGINT NOT NULL,
    head_mac TEXT NOT NULL,
    -- The first entry kept (1 until a retention cut) and the MAC of the entry before it.
    start_seq BIGINT NOT NULL,
    start_prev_mac TEXT NOT NULL,
    -- After a retention cut: the key version and MAC over ('checkpoint', chain, start_seq,
    -- start_prev_mac), so the start cannot be moved without the key.
    checkpoint_version BIGINT,
    checkpoint_mac TEXT
);
-- No foreign key to workspaces: a deleted workspace's entries stay until they are swept.
CREATE TABLE audit_entries (
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    -- NULL on the instance chain.
    workspace_id TEXT,
    -- `user:<id>`, `token:<id>/user:<id>`, `system` or `cli`.
    actor TEXT NOT NULL,
    -- e.g. `auth.signin`, `profile.connected`.
    action TEXT NOT NULL,
    -- e.g. `profile:<id>`; '' when none.
    target TEXT NOT NULL,
    -- The client's address; NULL when none (the system).
    client TEXT,
    -- Short machine words, never secrets or personal content; '' when none.
    detail TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    mac TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_entries_ws_at ON audit_entries (workspace_id, at);
