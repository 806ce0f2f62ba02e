//! Herald's storage: one schema on SQLite and PostgreSQL through sqlx, every query scoped to a workspace.

mod accounts;
mod actions;
mod app_holds;
mod approvals;
mod audit;
mod audit_batch;
mod audit_heads;
mod audit_reseal;
mod batched;
mod conversations;
mod db;
mod deletion;
mod deliveries;
mod drafts;
mod due;
mod export;
mod grants;
mod keys;
mod media;
mod members;
mod notifications;
mod oauth;
mod pending;
mod posts;
mod profiles;
mod refresh;
mod retention;
mod seed;
mod stats;
mod sweep;
#[doc(hidden)]
pub mod testing;
mod throttle;
mod tuples;
mod two_factor;
mod work;

pub use accounts::{ApiTokenRow, NewAccount, NewSession, SessionRow, SessionUser, TokenGrant, UserRow};
pub use actions::DeliveryAction;
pub use approvals::{ApprovalRow, Approved, Decision, Unapproved};
pub use audit::{Actor, AuditFilter, AuditRow, ChainReport, NewAudit, Problem, VerifyReport};
pub use conversations::{ConversationsRow, NewConversations};
pub use db::{Backend, Db};
pub use deletion::Deleted;
pub use deliveries::{Claimed, DeliveryEventRow, Transition};
pub use drafts::DraftRow;
pub use due::DueListener;
pub use export::{AuditStart, ExportPage, SealedAuditRow};
pub use grants::{GrantRow, NewGrant};
pub use keys::KeyStatus;
pub use media::{MediaRow, NewMedia, VideoFacts};
pub use members::{InvitationRow, MemberRow};
pub use notifications::{NewNotification, NotificationRow};
pub use oauth::{NewOAuthState, OAuthStateRow};
pub use pending::{NewPending, PendingRow};
pub use posts::{
    CalendarPost, CancelOutcome, DeliveryRow, NewPost, NewTarget, PostChange, PostFilter, PostRow, ThreadPart,
};
pub use profiles::{NewProfile, ProfileRow};
pub use refresh::ProfileDue;
pub use retention::{RETENTION, RetentionReport};
pub use seed::SeedPost;
pub use stats::QueueStats;
pub use throttle::{FailureScope, Failures};
pub use two_factor::{TotpSecret, TwoFactorStatus};
pub use work::Work;

use std::path::PathBuf;
use std::sync::Arc;

use herald_domain::{Clock, Role};
use herald_vault::{Vault, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's lease was taken over: its write changed nothing.
    #[error("lease lost")]
    LeaseLost,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("vault: {0}")]
    Vault(#[from] VaultError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Appending to the audit log failed (the cause, shared by the entries written together).
    #[error("audit: {0}")]
    Audit(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store: a database, the vault that seals secrets in it, the clock, and where the audit
/// log's heads are recorded outside the database, if anywhere.
#[derive(Clone)]
pub struct Store {
    db: Db,
    vault: Arc<Vault>,
    clock: Clock,
    audit_heads: Option<Arc<PathBuf>>,
    audit_queues: audit_batch::AuditQueues,
    write_queue: batched::WriteQueue,
    data_keys: keys::DataKeyCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.db.backend())
    }
}

impl Store {
    pub fn new(db: Db, vault: Arc<Vault>, clock: Clock) -> Self {
        Self {
            db,
            vault,
            clock,
            audit_heads: None,
            audit_queues: audit_batch::AuditQueues::default(),
            write_queue: batched::WriteQueue::default(),
            data_keys: keys::DataKeyCache::default(),
        }
    }

    /// Records each audit chain's newest entry in the heads file at `path` too (see
    /// [`Store::audit_verify`]).
    pub fn with_audit_heads(mut self, path: PathBuf) -> Self {
        self.audit_heads = Some(Arc::new(path));
        self
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The vault, shared (the media URL signer follows its keyring).
    pub fn vault_handle(&self) -> Arc<Vault> {
        self.vault.clone()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn now(&self) -> i64 {
        self.clock.now().as_microsecond()
    }
}

/// Runs the same code against whichever pool the store holds.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("bad id {s}")))
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse()
        .map_err(|e: herald_domain::role::UnknownRole| StoreError::Corrupt(e.to_string()))
}
