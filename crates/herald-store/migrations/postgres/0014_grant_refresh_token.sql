-- A grant's refresh token, where the platform gave one (LinkedIn's approved apps), sealed like
-- its user token, and the refresh token's fixed end: the date the person must log in again by.
ALTER TABLE grants ADD COLUMN refresh_ciphertext BYTEA;
ALTER TABLE grants ADD COLUMN refresh_expires_at BIGINT;
