-- The deliveries that wait for their time, in the order they fall due: a claim reads the first few
-- straight from here instead of sorting every due delivery (a burst of 100,000 due at once made
-- each claim sort all of them). The condition is written exactly as the queries write it
-- (`WAITING` in deliveries.rs), which the databases need to match a query to a partial index.
CREATE INDEX deliveries_waiting ON deliveries (due_at) WHERE status IN ('scheduled', 'retry_wait', 'processing');
