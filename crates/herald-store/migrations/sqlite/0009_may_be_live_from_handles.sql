-- The dispatcher reads `may_be_live` instead of each adapter's handle: deliveries whose handle was
-- saved before 0007, after the call that makes the post visible may have been made, say so here too.
UPDATE deliveries SET may_be_live = 1
WHERE may_be_live = 0 AND handle IS NOT NULL
  AND (handle LIKE '%"publish_started":true%' OR handle LIKE '%"post_started":true%');
