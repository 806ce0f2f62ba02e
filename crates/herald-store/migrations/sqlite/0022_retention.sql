-- A deleted workspace's audit chain: its entries went with the workspace, and its row stays as the
-- signed record of where the chain ended (its checkpoint vouches for it), so verification and the
-- heads file still account for it. No entry is appended to a chain once it is deleted.
ALTER TABLE audit_chains ADD COLUMN deleted_at BIGINT;
