-- After an interruption, the posts on the platform that match a delivery and cannot be told apart
-- (a JSON array of {id, permalink}): the delivery is `unconfirmed` until the person chooses.
ALTER TABLE deliveries ADD COLUMN candidates TEXT;
