-- A platform that said Herald's app as a whole has spent its allowance (X's daily cap per app,
-- YouTube's project quota, Meta's application limit): every dispatcher, in every process, holds
-- that platform's deliveries until the instant it named instead of spending calls on refusals.
CREATE TABLE app_holds (
    platform TEXT PRIMARY KEY,
    held_until BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);
