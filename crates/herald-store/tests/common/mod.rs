//! What the storage test files share: a migrated store on a fresh database, and running each test
//! on SQLite and on PostgreSQL.

use std::sync::Arc;

use herald_domain::Clock;
use herald_store::testing::TestDatabase;
use herald_store::{Db, Store};
use herald_vault::{KeySource, Keyring, Vault};

pub async fn store(t: &TestDatabase) -> Store {
    let db = Db::connect(&t.url).await.unwrap();
    db.migrate().await.unwrap();
    Store::new(
        db,
        Arc::new(Vault::new(Keyring::generate().unwrap(), KeySource::Inline)),
        Clock::system(),
    )
}

/// Makes each `name => |s: Store| async move { … };` a test that runs on every backend, on a
/// fresh database each time.
macro_rules! on_both_backends {
    ($($name:ident => $body:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            for backend in herald_store::testing::backends().await {
                let t = herald_store::testing::TestDatabase::create(backend).await;
                let s = $crate::common::store(&t).await;
                ($body)(s).await;
                t.drop_database().await;
            }
        }
    )*};
}
pub(crate) use on_both_backends;
