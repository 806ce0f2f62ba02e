-- A thread: the parts that follow a post's own text and media, in order, as JSON
-- `[{"text", "media_ids"}]`; NULL for a post of one part.
ALTER TABLE posts ADD COLUMN thread TEXT;
