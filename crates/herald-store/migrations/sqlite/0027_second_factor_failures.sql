-- Wrong second-factor codes counted per person, whatever address they come from: the codes of a
-- window of 15 minutes (`failures` since `failures_since`), so a six-digit code cannot be guessed
-- from many addresses at once.
ALTER TABLE two_factor ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE two_factor ADD COLUMN failures_since BIGINT;
