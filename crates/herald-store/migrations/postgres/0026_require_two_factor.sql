-- A workspace can require two-factor sign-in of every member, whatever the instance's address.
ALTER TABLE workspaces ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
