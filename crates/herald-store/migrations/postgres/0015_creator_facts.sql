-- What the account allows a post, as the platform last said (TikTok's creator_info), as JSON
-- `{"privacy_levels", "comment_disabled", "duet_disabled", "stitch_disabled", "max_video_duration_s"}`.
ALTER TABLE profile_facts ADD COLUMN creator TEXT;
