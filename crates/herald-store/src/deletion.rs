//! Deleting a workspace or an account at once: every row that is the workspace's, or the person's,
//! goes in one transaction; on SQLite that connection overwrites what it frees with zeros and a
//! checkpoint then empties the write-ahead log, on PostgreSQL the tables are rewritten
//! (`VACUUM FULL`) after the commit, so the live files no longer hold what was deleted. What lies outside the database (the
//! media files) is named for the caller to remove.
//!
//! A table added later with a `workspace_id` (or, for an account, a `user_id`) column that is not
//! named here is emptied of the workspace's (or the person's) rows too, before the tables named
//! here, so a new kind of data is not left behind by default.

use herald_domain::{Role, UserId, WorkspaceId};

use crate::audit::{checkpoint, sign};
use crate::db::Db;
use crate::{Backend, Result, Store, StoreError, on_db, parse_id};

/// The statements that empty a workspace, children before their parents (`$1`: its id). Its
/// audit chain is cut apart, and its row goes last.
const WORKSPACE_ROWS: &[&str] = &[
    "DELETE FROM notification_reads WHERE notification_id IN (SELECT id FROM notifications WHERE workspace_id = $1)",
    "DELETE FROM notifications WHERE workspace_id = $1",
    "DELETE FROM delivery_events WHERE workspace_id = $1",
    "DELETE FROM deliveries WHERE workspace_id = $1",
    "DELETE FROM posts WHERE workspace_id = $1",
    "DELETE FROM drafts WHERE workspace_id = $1",
    "DELETE FROM media WHERE workspace_id = $1",
    "DELETE FROM profile_secrets WHERE workspace_id = $1",
    "DELETE FROM profile_facts WHERE workspace_id = $1",
    "DELETE FROM conversations WHERE workspace_id = $1",
    "DELETE FROM profiles WHERE workspace_id = $1",
    "DELETE FROM grants WHERE workspace_id = $1",
    "DELETE FROM oauth_states WHERE workspace_id = $1",
    "DELETE FROM pending_connections WHERE workspace_id = $1",
    "DELETE FROM invitations WHERE workspace_id = $1",
    "DELETE FROM data_keys WHERE workspace_id = $1",
    "DELETE FROM api_tokens WHERE workspace_id = $1",
    "DELETE FROM memberships WHERE workspace_id = $1",
    "UPDATE users SET current_workspace_id = NULL WHERE current_workspace_id = $1",
];

/// The statements that remove what is the person's own wherever it is (`$1`: their id): their
/// memberships, sessions, API tokens, connections they started, what they read, and the
/// invitations they made or accepted (those sent to their email go by the email).
const ACCOUNT_ROWS: &[&str] = &[
    "DELETE FROM memberships WHERE user_id = $1",
    "DELETE FROM sessions WHERE user_id = $1",
    "DELETE FROM api_tokens WHERE user_id = $1",
    "DELETE FROM oauth_states WHERE user_id = $1",
    "DELETE FROM pending_connections WHERE user_id = $1",
    "DELETE FROM notification_reads WHERE user_id = $1",
    "DELETE FROM invitations WHERE invited_by = $1 OR accepted_by = $1",
];

/// Every table the statements here name: the others with a `workspace_id` or `user_id` column
/// are emptied by that column, and all are vacuumed on PostgreSQL.
const NAMED: &[&str] = &[
    "notification_reads",
    "notifications",
    "delivery_events",
    "deliveries",
    "posts",
    "drafts",
    "media",
    "profile_secrets",
    "profile_facts",
    "conversations",
    "profiles",
    "grants",
    "oauth_states",
    "pending_connections",
    "invitations",
    "data_keys",
    "memberships",
    "users",
    "sessions",
    "api_tokens",
    "audit_entries",
    "audit_chains",
    "workspaces",
];

/// The person's workspaces, with their role and how many members and owners each has.
const THEIRS: &str = "SELECT w.id, w.name, m.role,
       (SELECT COUNT(*) FROM memberships x WHERE x.workspace_id = w.id),
       (SELECT COUNT(*) FROM memberships x WHERE x.workspace_id = w.id AND x.role = 'owner')
     FROM memberships m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.created_at";

/// What a deletion did, and what it leaves for the caller outside the database.
#[derive(Debug, Clone, Default)]
pub struct Deleted {
    /// The workspaces deleted: the one asked for, or those the person alone belonged to.
    pub workspaces: Vec<WorkspaceId>,
    /// The media files the deleted rows named (as stored), for the caller to remove from disk.
    pub media_files: Vec<String>,
    /// Whether the database's files were scrubbed of the deleted rows' bytes at once (SQLite's
    /// write-ahead log emptied, PostgreSQL's tables rewritten); otherwise they are overwritten as
    /// the space is reused, and the failure was logged.
    pub scrubbed: bool,
    /// For an account: its row stays, with no email, password or zone (an id no one can sign in
    /// as), because posts, drafts or connections it made in workspaces that remain name it.
    pub user_row_kept: bool,
}

/// Empties the workspace `$ws` (its id, as text) inside the transaction `$tx` and deletes it:
/// first the rows of tables not named here (`$extra`, by their `workspace_id`), then
/// [`WORKSPACE_ROWS`], then its audit chain, cut whole: its entries go and its row stays for the
/// retention period, marked deleted, with a checkpoint signed by `$signer` where the chain now
/// ends, so the log still verifies and nothing more is appended to it. Evaluates to the paths of its media files;
/// `NotFound` when there is no such workspace.
macro_rules! purge_workspace {
    ($tx:expr, $ws:expr, $extra:expr, $signer:expr, $now:expr) => {{
        let ws: &str = $ws;
        // Taken first, as changes to its members take it: nobody joins it meanwhile.
        let locked = sqlx::query("UPDATE workspaces SET name = name WHERE id = $1")
            .bind(ws)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let media: Vec<(String,)> = sqlx::query_as("SELECT path FROM media WHERE workspace_id = $1")
            .bind(ws)
            .fetch_all(&mut *$tx)
            .await?;
        for table in $extra {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE workspace_id = $1")))
                .bind(ws)
                .execute(&mut *$tx)
                .await?;
        }
        for statement in WORKSPACE_ROWS {
            sqlx::query(*statement).bind(ws).execute(&mut *$tx).await?;
        }
        // A chain never appended to gets its row too, so that nothing can start it later.
        let genesis = hex::encode([0u8; 32]);
        sqlx::query(
            "INSERT INTO audit_chains (chain, head_seq, head_mac, start_seq, start_prev_mac) VALUES ($1, 0, $2, 1, $2)
             ON CONFLICT (chain) DO NOTHING",
        )
        .bind(ws)
        .bind(&genesis)
        .execute(&mut *$tx)
        .await?;
        let (head_seq, head_mac): (i64, String) = sqlx::query_as(
            "UPDATE audit_chains SET head_seq = head_seq WHERE chain = $1 RETURNING head_seq, head_mac",
        )
        .bind(ws)
        .fetch_one(&mut *$tx)
        .await?;
        sqlx::query("DELETE FROM audit_entries WHERE chain = $1")
            .bind(ws)
            .execute(&mut *$tx)
            .await?;
        let (version, mac) = sign($signer, b"", &checkpoint(ws, head_seq + 1, &head_mac))?;
        sqlx::query(
            "UPDATE audit_chains SET start_seq = $1, start_prev_mac = $2, checkpoint_version = $3, checkpoint_mac = $4,
               deleted_at = $5 WHERE chain = $6",
        )
        .bind(head_seq + 1)
        .bind(&head_mac)
        .bind(version)
        .bind(&mac)
        .bind($now)
        .bind(ws)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("DELETE FROM workspaces WHERE id = $1")
            .bind(ws)
            .execute(&mut *$tx)
            .await?;
        media.into_iter().map(|(path,)| path).collect::<Vec<String>>()
    }};
}

/// Whether `name` is a plain lower-case SQL identifier (a table's name from the catalogue, safe
/// to put in a statement).
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Store {
    /// Deletes the workspace and everything in it at once, in one transaction: its posts (their
    /// text), drafts, media records, profiles and their tokens, connections, its data key,
    /// notifications, invitations (the emails they name), memberships and settings; its audit
    /// chain is cut whole (its entries go; its row stays, marked deleted, vouched for by a signed
    /// checkpoint). Then the database's files are scrubbed. `NotFound` when there is none.
    pub async fn delete_workspace(&self, ws: WorkspaceId) -> Result<Deleted> {
        let extra = self.other_tables("workspace_id").await?;
        let (signer, now, id) = (self.audit_signer(), self.now(), ws.to_string());
        let sqlite = self.db().backend() == Backend::Sqlite;
        let media_files = on_db!(self.db(), pool => {
            let mut conn = pool.acquire().await?;
            if sqlite {
                // This connection overwrites what it frees with zeros (and keeps doing so).
                sqlx::query("PRAGMA secure_delete = ON").execute(&mut *conn).await?;
            }
            let mut tx = sqlx::Acquire::begin(&mut conn).await?;
            let media = purge_workspace!(tx, id.as_str(), &extra, &signer, now);
            tx.commit().await?;
            media
        });
        self.data_keys.forget_all();
        let scrubbed = self.scrub(&extra).await;
        Ok(Deleted {
            workspaces: vec![ws],
            media_files,
            scrubbed,
            user_row_kept: false,
        })
    }

    /// Deletes the person's account at once, in one transaction: the workspaces they alone belong
    /// to, as [`Store::delete_workspace`] does; their memberships of the others, sessions, API
    /// tokens, the connections they started and had not finished, what they read, the
    /// invitations they made, accepted or were sent, and every row of theirs in a table with a
    /// `user_id` column (two-factor sign-in's among them). Their row goes with their email, or,
    /// where what they made in a workspace that remains names it, stays without email, password
    /// or zone. Then the database's files are scrubbed. `Conflict` (a sentence naming the
    /// workspace) when they are the last owner of a workspace others belong to: nothing is
    /// deleted; `NotFound` when there is no such account.
    pub async fn delete_account(&self, user: UserId) -> Result<Deleted> {
        let ws_extra = self.other_tables("workspace_id").await?;
        let user_extra = self.other_tables("user_id").await?;
        let (signer, now, id) = (self.audit_signer(), self.now(), user.to_string());
        // Sign-in lower-cases what it looks up: no email typed can ever name this row again.
        let anonymous = format!("DELETED {user}");
        let sqlite = self.db().backend() == Backend::Sqlite;
        let mut deleted = on_db!(self.db(), pool => {
            let mut conn = pool.acquire().await?;
            if sqlite {
                sqlx::query("PRAGMA secure_delete = ON").execute(&mut *conn).await?;
            }
            let mut tx = sqlx::Acquire::begin(&mut conn).await?;
            // Their workspaces are taken first, as changes to members take them: nobody joins,
            // leaves or changes role in one meanwhile.
            sqlx::query("UPDATE workspaces SET name = name WHERE id IN (SELECT workspace_id FROM memberships WHERE user_id = $1)")
                .bind(&id).execute(&mut *tx).await?;
            let found: Option<(String,)> = sqlx::query_as("SELECT email FROM users WHERE id = $1")
                .bind(&id).fetch_optional(&mut *tx).await?;
            let Some((email,)) = found else {
                return Err(StoreError::NotFound);
            };
            let theirs: Vec<(String, String, String, i64, i64)> =
                sqlx::query_as(THEIRS).bind(&id).fetch_all(&mut *tx).await?;
            let owner = Role::Owner.as_str();
            if let Some((_, name, ..)) = theirs
                .iter()
                .find(|(_, _, role, members, owners)| role == owner && *members > 1 && *owners == 1)
            {
                return Err(StoreError::Conflict(format!(
                    "you are the last owner of “{name}”, which others belong to: make one of them an owner first, or delete the workspace"
                )));
            }
            let mut d = Deleted::default();
            for (ws, ..) in theirs.iter().filter(|t| t.3 == 1) {
                let media = purge_workspace!(tx, ws.as_str(), &ws_extra, &signer, now);
                d.media_files.extend(media);
                d.workspaces.push(parse_id(ws)?);
            }
            for table in &user_extra {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE user_id = $1")))
                    .bind(&id).execute(&mut *tx).await?;
            }
            for statement in ACCOUNT_ROWS {
                sqlx::query(*statement).bind(&id).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM invitations WHERE email = $1").bind(&email).execute(&mut *tx).await?;
            // The row goes unless something that remains refers to it (any table, any column):
            // tried under a savepoint, which a refusal rolls back alone.
            let mut attempt = sqlx::Acquire::begin(&mut tx).await?;
            let gone = sqlx::query("DELETE FROM users WHERE id = $1").bind(&id).execute(&mut *attempt).await;
            match gone {
                Ok(_) => attempt.commit().await?,
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                    attempt.rollback().await?;
                    sqlx::query(
                        "UPDATE users SET email = $1, password_hash = '', time_zone = NULL, current_workspace_id = NULL
                         WHERE id = $2")
                        .bind(&anonymous).bind(&id).execute(&mut *tx).await?;
                    d.user_row_kept = true;
                }
                Err(e) => return Err(e.into()),
            }
            tx.commit().await?;
            d
        });
        let mut extra = ws_extra;
        extra.extend(user_extra);
        self.data_keys.forget_all();
        deleted.scrubbed = self.scrub(&extra).await;
        Ok(deleted)
    }

    /// Gives a person who belongs to no workspace a new, empty one of their own, as sign-up does,
    /// and makes it the one their pages act in: after deleting their last workspace they land
    /// somewhere. Returns it, or `None` when they belong to one already.
    pub async fn ensure_workspace(&self, user: UserId) -> Result<Option<WorkspaceId>> {
        let (ws, now, id) = (WorkspaceId::new(), self.now(), user.to_string());
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            // The person's row first: two calls at once make one workspace.
            let found: Option<(String,)> = sqlx::query_as(
                "UPDATE users SET current_workspace_id = current_workspace_id WHERE id = $1 RETURNING email")
                .bind(&id).fetch_optional(&mut *tx).await?;
            let Some((email,)) = found else {
                return Err(StoreError::NotFound);
            };
            let (member_of,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE user_id = $1")
                .bind(&id).fetch_one(&mut *tx).await?;
            if member_of > 0 {
                return Ok(None);
            }
            let name = format!("{}'s workspace", email.split('@').next().unwrap_or(&email));
            sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(ws.to_string()).bind(&name).bind(now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, 'owner')")
                .bind(ws.to_string()).bind(&id).execute(&mut *tx).await?;
            sqlx::query("UPDATE users SET current_workspace_id = $1 WHERE id = $2")
                .bind(ws.to_string()).bind(&id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(Some(ws))
    }

    /// The tables with a column named `column` that the statements here do not name, from the
    /// database's own catalogue (so tables added later are found).
    async fn other_tables(&self, column: &str) -> Result<Vec<String>> {
        let sql = match self.db().backend() {
            Backend::Sqlite => {
                "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
                 WHERE m.type = 'table' AND c.name = $1 ORDER BY m.name"
            }
            Backend::Postgres => {
                "SELECT CAST(c.table_name AS TEXT) FROM information_schema.columns c
                 JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND CAST(c.column_name AS TEXT) = $1
                 ORDER BY 1"
            }
        };
        let rows: Vec<(String,)> =
            on_db!(self.db(), pool => sqlx::query_as(sql).bind(column).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(t,)| t)
            .filter(|t| !NAMED.contains(&t.as_str()))
            .filter(|t| {
                let ok = plain(t);
                if !ok {
                    tracing::warn!(table = %t, "a table whose name is not a plain identifier is left as it is");
                }
                ok
            })
            .collect())
    }

    /// Scrubs the database's live files of what a deletion freed: on SQLite, a checkpoint that
    /// copies the zeroed pages into the database file and empties the write-ahead log (which
    /// still held the deleted rows' pages); on PostgreSQL, once older snapshots have ended
    /// ([`settled`]), `VACUUM FULL` of the tables touched (after the commit: it cannot run in a
    /// transaction), which removes the deleted rows' versions. A failure is logged: the deletion
    /// itself stands.
    async fn scrub(&self, extra: &[String]) -> bool {
        let done = match self.db() {
            Db::Sqlite(pool) => {
                let r: std::result::Result<(i64, i64, i64), sqlx::Error> =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(pool)
                        .await;
                r.map(|(busy, _, _)| busy == 0)
            }
            Db::Postgres(pool) => {
                let clear = settled(pool).await;
                let mut tables: Vec<&str> = NAMED.to_vec();
                tables.extend(extra.iter().map(String::as_str));
                tables.sort_unstable();
                tables.dedup();
                // FULL writes each table (its TOAST and indexes too) into new files and empties the
                // old ones, so the deleted rows' bytes leave the table files at once; it holds
                // each table exclusively while it copies it (a deletion is rare, and brief here).
                let sql = format!("VACUUM FULL {}", tables.join(", "));
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(pool)
                    .await
                    .and(clear)
            }
        };
        match done {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(
                    "the database files could not be scrubbed at once after a deletion (a reader or an older transaction held the deleted rows' versions): they go at the next checkpoint, or as the space is reused"
                );
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "scrubbing the database files after a deletion failed: the deleted rows' bytes go as the space is reused");
                false
            }
        }
    }
}

/// How long a scrub waits on PostgreSQL for older snapshots to end, polling every [`SETTLE_POLL`].
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Waits (up to [`SETTLE_WAIT`]) until no transaction that began before now is still running
/// anywhere on the server (a prepared one included) and no snapshot taken before now is still
/// held in this database, or by a process of no database (a session connecting, the autovacuum
/// launcher). `VACUUM FULL` copies a deleted row's version while any such snapshot could still
/// see it; after this it has none to keep. Whether it settled (a long transaction elsewhere, or
/// another `VACUUM`, can hold it past the wait).
async fn settled(pool: &sqlx::PgPool) -> std::result::Result<bool, sqlx::Error> {
    let (now,): (String,) = sqlx::query_as("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")
        .fetch_one(pool)
        .await?;
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    loop {
        let (clear,): (bool,) = sqlx::query_as(
            "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AND NOT EXISTS (
                 SELECT 1 FROM pg_stat_activity
                  WHERE pid <> pg_backend_pid() AND (datid IS NULL OR datname = current_database())
                    AND age(backend_xmin) > age($1::xid8::xid))",
        )
        .bind(&now)
        .fetch_one(pool)
        .await?;
        if clear {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}
