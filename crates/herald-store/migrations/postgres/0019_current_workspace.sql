-- The workspace a person's pages act in, once they chose one (or joined one by invitation); until
-- then, the oldest they belong to.
ALTER TABLE users ADD COLUMN current_workspace_id TEXT;
