-- The IANA zone a person plans in (the calendar shows it; the composer starts in it). Empty until
-- they choose one or schedule their first post, whose zone (their browser's) it then takes.
ALTER TABLE users ADD COLUMN time_zone TEXT;
