//! App-wide holds: when a platform says Herald's app as a whole has spent its allowance, the
//! instant it resumes is kept here, so every process holds that platform's deliveries until then.

use herald_domain::platform::Platform;

use crate::{Result, Store, on_db};

impl Store {
    /// Records that `platform`'s allowance for Herald's app is spent until `until` (microseconds);
    /// a later end already recorded stands.
    pub async fn hold_app(&self, platform: Platform, until: i64) -> Result<()> {
        let now = self.now();
        on_db!(self.db(), pool => { sqlx::query(
            "INSERT INTO app_holds (platform, held_until, recorded_at) VALUES ($1, $2, $3)
             ON CONFLICT (platform) DO UPDATE SET
               held_until = CASE WHEN excluded.held_until > app_holds.held_until
                 THEN excluded.held_until ELSE app_holds.held_until END,
               recorded_at = excluded.recorded_at")
            .bind(platform.as_str())
            .bind(until)
            .bind(now)
            .execute(pool)
            .await?; });
        Ok(())
    }

    /// The holds in force now: each platform held, with when its hold ends (microseconds).
    pub async fn app_holds(&self) -> Result<Vec<(Platform, i64)>> {
        let rows: Vec<(String, i64)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT platform, held_until FROM app_holds WHERE held_until > $1")
                .bind(self.now())
                .fetch_all(pool)
                .await?);
        // A platform this build does not know (a newer one's row) holds nothing here.
        Ok(rows
            .into_iter()
            .filter_map(|(p, until)| Platform::parse(&p).map(|p| (p, until)))
            .collect())
    }
}
