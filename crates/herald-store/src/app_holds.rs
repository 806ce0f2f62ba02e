//! App-wide holds: when a platform says the app Herald reaches it through has spent its allowance
//! as a whole, the instant it resumes is kept here, by login, so every process holds the
//! deliveries of that login's profiles until then.

use herald_domain::platform::Login;

use crate::{Result, Store, on_db};

impl Store {
    /// Records that `login`'s app has spent its allowance until `until` (microseconds); a later
    /// end already recorded stands.
    pub async fn hold_app(&self, login: Login, until: i64) -> Result<()> {
        let now = self.now();
        on_db!(self.db(), pool => { sqlx::query(
            "INSERT INTO app_holds (login, held_until, recorded_at) VALUES ($1, $2, $3)
             ON CONFLICT (login) DO UPDATE SET
               held_until = CASE WHEN excluded.held_until > app_holds.held_until
                 THEN excluded.held_until ELSE app_holds.held_until END,
               recorded_at = excluded.recorded_at")
            .bind(login.as_str())
            .bind(until)
            .bind(now)
            .execute(pool)
            .await?; });
        Ok(())
    }

    /// The holds in force now: each login held, with when its hold ends (microseconds).
    pub async fn app_holds(&self) -> Result<Vec<(Login, i64)>> {
        let rows: Vec<(String, i64)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT login, held_until FROM app_holds WHERE held_until > $1")
                .bind(self.now())
                .fetch_all(pool)
                .await?);
        // A login this build does not know (a newer one's row) holds nothing here.
        Ok(rows
            .into_iter()
            .filter_map(|(l, until)| Login::parse(&l).map(|l| (l, until)))
            .collect())
    }
}
