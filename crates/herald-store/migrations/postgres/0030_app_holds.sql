-- A login's app that said its allowance as a whole is spent (X's daily cap per app, YouTube's
-- project quota, Meta's application limit): every dispatcher, in every process, holds the
-- deliveries of the profiles connected through that login until the instant it named instead of
-- spending calls on refusals. Keyed by login, since the allowance is the app's, and a platform
-- may be reached through two apps (Instagram through Instagram Login or Facebook Login).
CREATE TABLE app_holds (
    login TEXT PRIMARY KEY,
    held_until BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);
