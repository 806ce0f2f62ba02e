//! Fresh databases for tests, on SQLite and PostgreSQL alike.
//!
//! PostgreSQL comes from `HERALD_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When it is unreachable the PostgreSQL half is skipped with a message, except under `CI=true`, where
//! that is a failure.

use crate::{Backend, Db};

/// A throwaway database: a temp-file SQLite, or a `CREATE DATABASE herald_t_<random>` on PostgreSQL.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

fn admin_url() -> String {
    std::env::var("HERALD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The backends to run storage tests on here.
pub async fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    match Db::connect(&admin_url()).await {
        Ok(db) => {
            db.close().await;
            v.push(Backend::Postgres);
        }
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL at {} is unreachable under CI=true: {e}", admin_url())
        }
        Err(_) => eprintln!(
            "note: PostgreSQL at {} is unreachable; skipped PostgreSQL for this test",
            admin_url()
        ),
    }
    v
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let name = format!("herald_t_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                Self {
                    url: format!("sqlite://{}", dir.join("herald.db").display()),
                    backend,
                    cleanup: Cleanup::Dir(dir),
                }
            }
            Backend::Postgres => {
                let admin = admin_url();
                let Db::Postgres(pool) = Db::connect(&admin).await.expect("connect to PostgreSQL") else {
                    unreachable!()
                };
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await
                    .expect("create database");
                pool.close().await;
                let mut url = url_with_db(&admin, &name);
                url.shrink_to_fit();
                Self {
                    url,
                    backend,
                    cleanup: Cleanup::Postgres {
                        admin_url: admin,
                        name,
                    },
                }
            }
        }
    }

    /// The directory a SQLite test database lives in (for inspecting its files).
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::Dir(d) => Some(d),
            Cleanup::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL database name, for `pg_dump`.
    pub fn postgres_name(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { name, .. } => Some(name),
            Cleanup::Dir(_) => None,
        }
    }

    pub async fn drop_database(self) {
        match self.cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(Db::Postgres(pool)) = Db::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            }
        }
    }
}

fn url_with_db(url: &str, db: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, rest)) => {
            let query = rest
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{base}/{db}{query}")
        }
        None => format!("{url}/{db}"),
    }
}
