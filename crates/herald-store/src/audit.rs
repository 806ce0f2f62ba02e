//! The audit log: who did what, when and from where, in one chain per workspace and one for the
//! instance. Each entry's MAC covers the entry and the MAC before it, under a key derived from the
//! master keyring, so verifying the log shows an entry altered, reordered or removed. A retention
//! cut leaves a signed checkpoint where the chain now starts, and the heads file outside the
//! database shows the newest entries removed with the chain's head rewound to match.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald_domain::{ApiTokenId, AuditId, UserId, WorkspaceId};
use herald_vault::{AuditMacError, AuditSigner, MasterVersion, VaultError};

use crate::keys::version;
use crate::{Result, Store, StoreError, audit_heads, on_db, parse_id};

/// The chain of what concerns the instance rather than one workspace.
const INSTANCE: &str = "instance";

/// The MAC a chain's first entry is chained to.
const GENESIS: [u8; 32] = [0; 32];

/// At most this many entries are listed at once.
const MAX_LIST: i64 = 500;

/// Verification reads a chain this many entries at a time.
const PAGE: i64 = 5_000;

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    /// A personal API token, and the person it belongs to.
    Token {
        token: ApiTokenId,
        user: UserId,
    },
    /// Herald itself (the dispatcher, the janitor).
    System,
    /// Someone at the command line on the server.
    Cli,
    /// Someone not signed in (a failed sign-in).
    Anonymous,
}

/// As stored: `user:<id>`, `token:<id>/user:<id>`, `system`, `cli` or `anonymous`.
impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::User(user) => write!(f, "user:{user}"),
            Self::Token { token, user } => write!(f, "token:{token}/user:{user}"),
            Self::System => f.write_str("system"),
            Self::Cli => f.write_str("cli"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    /// The workspace's chain, or the instance's (`None`).
    pub workspace: Option<WorkspaceId>,
    pub actor: Actor,
    /// e.g. `auth.signin`, `profile.connected`.
    pub action: &'a str,
    /// e.g. `profile:<id>`; empty when none.
    pub target: String,
    /// The client's address, when there is one.
    pub client: Option<String>,
    /// Short machine words, never secrets or personal content; empty when none.
    pub detail: String,
}

/// An entry as the log lists it.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: AuditId,
    pub chain: String,
    pub seq: i64,
    pub at: i64,
    pub workspace: Option<WorkspaceId>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub client: Option<String>,
    pub detail: String,
}

/// Which entries to list, newest first, paged by `before_seq`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only actions starting with this (e.g. `auth.`).
    pub action_prefix: Option<String>,
    /// Only this actor, as stored (e.g. `user:<id>`).
    pub actor: Option<String>,
    /// Only entries at or after this instant.
    pub since: Option<i64>,
    /// Only entries before this instant.
    pub until: Option<i64>,
    /// Only entries before this seq: the last seq of the previous page.
    pub before_seq: Option<i64>,
    /// At most this many (capped at 500).
    pub limit: i64,
}

/// Where verification found the log broken, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The chain (empty when the problem is no one chain's).
    pub chain: String,
    /// The entry it concerns, when there is one.
    pub seq: Option<i64>,
    pub what: String,
}

impl Problem {
    pub(crate) fn new(chain: &str, seq: Option<i64>, what: &str) -> Self {
        Self {
            chain: chain.to_owned(),
            seq,
            what: what.to_owned(),
        }
    }
}

/// One chain as verification walked it.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub chain: String,
    /// How many entries were read (a walk stops at the chain's first break).
    pub entries: u64,
    pub head_seq: i64,
    pub start_seq: i64,
}

/// What verifying the log found: every chain, and every problem (none when it is intact).
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub chains: Vec<ChainReport>,
    pub problems: Vec<Problem>,
}

/// The fields an entry's MAC covers, as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct Record {
    pub(crate) chain: String,
    pub(crate) seq: i64,
    pub(crate) id: String,
    pub(crate) at: i64,
    pub(crate) workspace_id: Option<String>,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target: String,
    pub(crate) client: Option<String>,
    pub(crate) detail: String,
}

pub(crate) const COLUMNS: &str = "chain, seq, id, at, workspace_id, actor, action, target, client, detail";

/// An entry with its MAC, as verification reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct Sealed {
    #[sqlx(flatten)]
    pub(crate) record: Record,
    pub(crate) key_version: i64,
    pub(crate) mac: String,
}

/// A chain's row, with the last seq its entries hold (read in the same statement, so an entry
/// appended meanwhile is in neither).
#[derive(sqlx::FromRow)]
struct ChainRow {
    chain: String,
    head_seq: i64,
    head_mac: String,
    start_seq: i64,
    start_prev_mac: String,
    checkpoint_version: Option<i64>,
    checkpoint_mac: Option<String>,
    last_seq: Option<i64>,
}

/// The text a MAC covers: each field as its length in bytes and its value, or `-` for none, so
/// that no two different lists of fields read alike.
#[derive(Default)]
struct Canonical(String);

impl Canonical {
    fn field(mut self, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.0 += &format!("{}:{v}|", v.len()),
            None => self.0 += "-|",
        }
        self
    }

    fn text(self, value: &str) -> Self {
        self.field(Some(value))
    }

    fn number(self, value: i64) -> Self {
        self.text(&value.to_string())
    }
}

impl Record {
    /// What its MAC covers.
    pub(crate) fn canonical(&self) -> String {
        Canonical::default()
            .text(&self.chain)
            .number(self.seq)
            .text(&self.id)
            .number(self.at)
            .field(self.workspace_id.as_deref())
            .text(&self.actor)
            .text(&self.action)
            .text(&self.target)
            .field(self.client.as_deref())
            .text(&self.detail)
            .0
    }
}

/// What a retention checkpoint's MAC covers: where the chain now starts and the MAC before it.
pub(crate) fn checkpoint(chain: &str, start_seq: i64, start_prev_mac: &str) -> String {
    Canonical::default()
        .text("checkpoint")
        .text(chain)
        .number(start_seq)
        .text(start_prev_mac)
        .0
}

/// The MAC of `text` chained to `prev` under the newest master key: its version and the MAC (hex).
pub(crate) fn sign(signer: &AuditSigner, prev: &[u8], text: &str) -> Result<(i64, String)> {
    let (version, mac) = signer
        .sign(prev, text.as_bytes())
        .ok_or_else(|| VaultError::BadKeyring("no key to sign the audit log with".into()))?;
    Ok((i64::from(version), hex::encode(mac)))
}

/// Checks `mac` (hex) over `text` chained to `prev` under the key `version`, and returns its bytes
/// for the next entry to chain to. A MAC that is not hex, or a version no key can have, is no
/// intact row's: it does not match.
pub(crate) fn check(
    signer: &AuditSigner,
    version: i64,
    prev: &[u8],
    text: &str,
    mac: &str,
) -> Result<Vec<u8>, AuditMacError> {
    let (Ok(version), Ok(mac)) = (MasterVersion::try_from(version), hex::decode(mac)) else {
        return Err(AuditMacError::Mismatch);
    };
    signer.verify(version, prev, text.as_bytes(), &mac)?;
    Ok(mac)
}

/// What is wrong with a chain's retention checkpoint, if anything: a chain that starts after its
/// first entry needs one, vouching for where it starts.
fn checkpoint_problem(signer: &AuditSigner, c: &ChainRow) -> Option<String> {
    let start = c.start_seq;
    match (c.checkpoint_version, &c.checkpoint_mac) {
        (Some(v), Some(mac)) => {
            let text = checkpoint(&c.chain, start, &c.start_prev_mac);
            match check(signer, v, b"", &text, mac) {
                Ok(_) => None,
                Err(e @ AuditMacError::UnknownKey(_)) => {
                    Some(format!("the retention checkpoint cannot be checked: {e}"))
                }
                Err(AuditMacError::Mismatch) => {
                    Some("the checkpoint does not verify: the start was moved".into())
                }
            }
        }
        (None, None) if start != 1 => Some(format!("entries before seq {start} went with no checkpoint")),
        (None, None) => None,
        _ => Some("half a checkpoint: the other half was removed".into()),
    }
}

impl TryFrom<Record> for AuditRow {
    type Error = StoreError;

    fn try_from(r: Record) -> Result<Self> {
        Ok(AuditRow {
            id: parse_id(&r.id)?,
            chain: r.chain,
            seq: r.seq,
            at: r.at,
            workspace: r.workspace_id.as_deref().map(parse_id).transpose()?,
            actor: r.actor,
            action: r.action,
            target: r.target,
            client: r.client,
            detail: r.detail,
        })
    }
}

impl Store {
    pub(crate) fn audit_signer(&self) -> AuditSigner {
        AuditSigner::new(self.vault_handle())
    }

    /// Appends an entry for what has happened already: a failure to record it is logged with its
    /// cause for the operator and does not undo or fail what it records.
    pub async fn audit_after(&self, e: NewAudit<'_>) {
        let action = e.action.to_owned();
        if let Err(err) = self.audit(e).await {
            tracing::error!(action, error = %err, "recording an audit entry failed");
        }
    }

    /// Appends an entry to its chain and returns once it is committed. Appends to one chain are
    /// written in batches (see `audit_batch.rs`): taking the chain's head row makes them wait for
    /// each other (a row lock on PostgreSQL, where other chains never wait; the write lock on
    /// SQLite), once per batch. Once committed, the new head is logged and, when the store has
    /// one, written to the heads file; a failure there is logged and does not fail the append.
    pub async fn audit(&self, e: NewAudit<'_>) -> Result<()> {
        let workspace_id = e.workspace.map(|w| w.to_string());
        let entry = Record {
            chain: workspace_id.clone().unwrap_or_else(|| INSTANCE.to_owned()),
            seq: 0,
            id: AuditId::new().to_string(),
            at: self.now(),
            workspace_id,
            actor: e.actor.to_string(),
            action: e.action.to_owned(),
            target: e.target,
            client: e.client,
            detail: e.detail,
        };
        self.append_queued(entry).await
    }

    /// Writes `entries`, all of `chain`, in one transaction, in order; returns the new head (seq
    /// and MAC), or `None` when the chain's workspace was deleted (nothing is written then).
    pub(crate) async fn append_batch(
        &self,
        chain: &str,
        entries: &mut [Record],
    ) -> Result<Option<(i64, String)>> {
        let genesis = hex::encode(GENESIS);
        let signer = self.audit_signer();
        let n = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        let backend = self.db().backend();
        let head = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO audit_chains (chain, head_seq, head_mac, start_seq, start_prev_mac) VALUES ($1, 0, $2, 1, $2)
                 ON CONFLICT (chain) DO NOTHING")
                .bind(chain).bind(&genesis).execute(&mut *tx).await?;
            // A deleted workspace's chain takes no more entries (one racing its deletion is dropped).
            let head: Option<(i64, String)> = sqlx::query_as(
                "UPDATE audit_chains SET head_seq = head_seq + $2 WHERE chain = $1 AND deleted_at IS NULL RETURNING head_seq, head_mac")
                .bind(chain).bind(n).fetch_optional(&mut *tx).await?;
            let Some((last, prev)) = head else {
                return Ok(None);
            };
            let mut prev = hex::decode(prev)
                .map_err(|_| StoreError::Corrupt(format!("audit chain {chain}: its head MAC is not hex")))?;
            let mut macs = Vec::with_capacity(entries.len());
            let mut versions = Vec::with_capacity(entries.len());
            for (entry, seq) in entries.iter_mut().zip(last - n + 1..) {
                entry.seq = seq;
                let (version, signed) = sign(&signer, &prev, &entry.canonical())?;
                prev = hex::decode(&signed)
                    .map_err(|_| StoreError::Corrupt(format!("audit chain {chain}: a MAC is not hex")))?;
                versions.push(version);
                macs.push(signed);
            }
            // The batch's entries in a few multi-row inserts, each small enough for one write to
            // the socket (see `tuples.rs`).
            let rows: Vec<_> = entries.iter().zip(&versions).zip(&macs).collect();
            let size = |((e, _), mac): &((&Record, &i64), &String)| {
                [&e.chain, &e.id, &e.actor, &e.action, &e.target, &e.detail, *mac].into_iter().map(String::len).sum::<usize>()
                    + e.workspace_id.as_deref().map_or(0, str::len)
                    + e.client.as_deref().map_or(0, str::len)
                    + 12 * crate::tuples::PER_VALUE
            };
            // Padded with NULL rows on PostgreSQL (see `tuples::padded`), which it skips.
            let (none, no): (Option<&str>, Option<i64>) = (None, None);
            for run in crate::tuples::runs(&rows, size) {
                let padded = crate::tuples::padded(run.len(), backend);
                let insert = format!(
                    "WITH v(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12) AS (VALUES {})
                     INSERT INTO audit_entries ({COLUMNS}, key_version, mac) SELECT * FROM v WHERE c1 IS NOT NULL",
                    crate::tuples::tuples(padded, 12, 1)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(insert));
                for ((entry, version), signed) in run {
                    q = q.bind(&entry.chain).bind(entry.seq).bind(&entry.id).bind(entry.at).bind(entry.workspace_id.as_deref())
                        .bind(&entry.actor).bind(&entry.action).bind(&entry.target).bind(entry.client.as_deref())
                        .bind(&entry.detail).bind(**version).bind(*signed);
                }
                for _ in run.len()..padded {
                    q = q.bind(none).bind(no).bind(none).bind(no).bind(none).bind(none).bind(none).bind(none)
                        .bind(none).bind(none).bind(no).bind(none);
                }
                q.execute(&mut *tx).await?;
            }
            let mac = macs.last().cloned().unwrap_or_default();
            sqlx::query("UPDATE audit_chains SET head_mac = $1 WHERE chain = $2")
                .bind(&mac).bind(chain).execute(&mut *tx).await?;
            tx.commit().await?;
            (last, mac, macs)
        });
        let (last, mac, macs) = head;
        for (e, m) in entries.iter().zip(&macs) {
            tracing::info!(target: "herald::audit", chain = %e.chain, seq = e.seq, mac = %m,
                action = %e.action, "audit entry");
        }
        let head = (last, mac);
        if let Some(path) = &self.audit_heads {
            self.record_head(path, chain, head.0, &head.1).await;
        }
        Ok(Some(head))
    }

    /// Writes a chain's new head to the heads file (off the async threads), unless the head the
    /// file holds is no longer in the database: then newest entries were removed and the chain
    /// grew again over them, and the file keeps the head it holds as evidence for `verify`.
    async fn record_head(&self, path: &Arc<PathBuf>, chain: &str, seq: i64, mac: &str) {
        let known = audit_heads::read(path).ok().and_then(|mut h| h.remove(chain));
        if let Some(h) = known.filter(|h| h.seq < seq) {
            match self.head_in_db(chain, h.seq).await {
                Ok((held, _, start))
                    if start.is_none_or(|s| h.seq >= s) && held.as_deref() != Some(h.mac.as_str()) =>
                {
                    tracing::error!(target: "herald::audit", chain, recorded = h.seq, path = %path.display(),
                        "the heads file records an entry the database no longer holds: the newest entries were removed; the file keeps that head (run `herald audit verify`)");
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(target: "herald::audit", chain, error = %e, "checking the recorded audit head failed")
                }
            }
        }
        let (file, owned_chain, owned_mac) = (Arc::clone(path), chain.to_owned(), mac.to_owned());
        let written =
            tokio::task::spawn_blocking(move || audit_heads::record(&file, &owned_chain, seq, &owned_mac))
                .await;
        if let Err(e) = written.map_err(std::io::Error::other).and_then(|w| w) {
            tracing::error!(target: "herald::audit", error = %e, path = %path.display(), chain, seq,
                "the audit head was not written to the heads file (the entry is in the database)");
        }
    }

    /// What the database holds of a chain at `seq`: that entry's MAC, the chain's last seq and
    /// where it starts.
    async fn head_in_db(&self, chain: &str, seq: i64) -> Result<(Option<String>, Option<i64>, Option<i64>)> {
        Ok(on_db!(self.db(), pool => sqlx::query_as(
            "SELECT (SELECT mac FROM audit_entries WHERE chain = $1 AND seq = $2),
                    (SELECT MAX(seq) FROM audit_entries WHERE chain = $1),
                    (SELECT start_seq FROM audit_chains WHERE chain = $1)")
            .bind(chain).bind(seq).fetch_one(pool).await?))
    }

    /// The workspace's entries that `f` selects, newest first.
    pub async fn audit_entries(&self, ws: WorkspaceId, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        self.audit_list(&ws.to_string(), f).await
    }

    /// How many entries of `action` the instance chain holds by `user` (signed in, or through one
    /// of their tokens) at or after `since`: a count for limits on rare, costly actions.
    pub async fn instance_actions_by(&self, action: &str, user: UserId, since: i64) -> Result<i64> {
        let (n,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT COUNT(*) FROM audit_entries WHERE chain = $1 AND action = $2 AND at >= $3 AND (actor = $4 OR actor LIKE $5)")
            .bind(INSTANCE).bind(action).bind(since).bind(format!("user:{user}")).bind(format!("token:%/user:{user}"))
            .fetch_one(pool).await?);
        Ok(n)
    }

    /// The instance chain's entries that `f` selects, newest first (sign-ins, keys, accounts).
    pub async fn audit_instance_entries(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        self.audit_list(INSTANCE, f).await
    }

    async fn audit_list(&self, chain: &str, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_entries WHERE chain = $1
               AND ($2 IS NULL OR substr(action, 1, length($2)) = $2) AND ($3 IS NULL OR actor = $3)
               AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) AND ($6 IS NULL OR seq < $6)
             ORDER BY seq DESC LIMIT $7"
        );
        let rows: Vec<Record> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(chain).bind(f.action_prefix.as_deref()).bind(f.actor.as_deref()).bind(f.since).bind(f.until)
            .bind(f.before_seq).bind(f.limit.clamp(0, MAX_LIST)).fetch_all(pool).await?);
        rows.into_iter().map(AuditRow::try_from).collect()
    }

    /// Verifies every chain from its start (or its retention checkpoint) to its head, and, given
    /// the heads file, that the database still holds each head it records. Data problems are
    /// reported, not returned as errors: only a failing database is an error.
    pub async fn audit_verify(&self, heads: Option<&Path>) -> Result<VerifyReport> {
        let signer = self.audit_signer();
        let chains: Vec<ChainRow> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT chain, head_seq, head_mac, start_seq, start_prev_mac, checkpoint_version, checkpoint_mac,
               (SELECT MAX(seq) FROM audit_entries e WHERE e.chain = c.chain) AS last_seq
             FROM audit_chains c ORDER BY chain")
            .fetch_all(pool).await?);
        let headless: Vec<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT DISTINCT chain FROM audit_entries WHERE chain NOT IN (SELECT chain FROM audit_chains) ORDER BY chain")
            .fetch_all(pool).await?);
        let mut report = VerifyReport::default();
        for c in &chains {
            let walked = self.verify_chain(&signer, c, &mut report.problems).await?;
            report.chains.push(walked);
        }
        for (chain,) in headless {
            let what = "entries whose chain's row in audit_chains was removed";
            report.problems.push(Problem::new(&chain, None, what));
        }
        if let Some(path) = heads {
            self.verify_heads(path, &mut report.problems).await?;
        }
        Ok(report)
    }

    /// Walks one chain up to its head, noting where it breaks in `problems`. The walk stops at the
    /// first break: every later entry would fail with it.
    async fn verify_chain(
        &self,
        signer: &AuditSigner,
        c: &ChainRow,
        problems: &mut Vec<Problem>,
    ) -> Result<ChainReport> {
        let (start, head) = (c.start_seq, c.head_seq);
        let mut report = ChainReport {
            chain: c.chain.clone(),
            entries: 0,
            head_seq: head,
            start_seq: start,
        };
        let note = |seq: Option<i64>, what: &str| Problem::new(&c.chain, seq, what);
        if let Some(what) = checkpoint_problem(signer, c) {
            problems.push(note(None, &what));
        }
        if let Some(last) = c.last_seq
            && last > head
        {
            let what = format!("seq {last} lies beyond the head at seq {head}: the head was rewound");
            problems.push(note(Some(head + 1), &what));
        }
        let sql = format!(
            "SELECT {COLUMNS}, key_version, mac FROM audit_entries WHERE chain = $1 AND seq > $2 AND seq <= $3
             ORDER BY seq LIMIT $4"
        );
        // A start MAC that is not hex chains nothing: the first entry will not verify.
        let mut prev = hex::decode(&c.start_prev_mac).unwrap_or_default();
        let (mut next, mut end_mac) = (start, c.start_prev_mac.clone());
        let mut after = i64::MIN;
        loop {
            let page: Vec<Sealed> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&c.chain).bind(after).bind(head).bind(PAGE).fetch_all(pool).await?);
            let last_page = page.len() < PAGE as usize;
            for e in page {
                report.entries += 1;
                let seq = e.record.seq;
                after = seq;
                if seq != next {
                    let what = if seq < next {
                        format!("seq {seq} lies before the start at seq {next}: the start was moved")
                    } else if next == start {
                        format!("entries before seq {seq} are missing (the chain starts at seq {start})")
                    } else {
                        format!("seq {next} is missing (the next entry is seq {seq}): entries were removed")
                    };
                    // The first seq out of place.
                    problems.push(note(Some(next.min(seq)), &what));
                    return Ok(report);
                }
                let what = match check(signer, e.key_version, &prev, &e.record.canonical(), &e.mac) {
                    Ok(mac) => {
                        prev = mac;
                        end_mac = e.mac;
                        next = seq + 1;
                        continue;
                    }
                    Err(err @ AuditMacError::UnknownKey(_)) => {
                        format!("seq {seq} cannot be checked: {err}")
                    }
                    Err(AuditMacError::Mismatch) => {
                        format!("seq {seq} does not verify: altered, reordered or its predecessor removed")
                    }
                };
                problems.push(note(Some(seq), &what));
                return Ok(report);
            }
            if last_page {
                break;
            }
        }
        let end = next - 1;
        if end < head {
            let what = format!("the newest entries after seq {end} were removed (the head is seq {head})");
            problems.push(note(Some(next), &what));
        } else if end_mac != c.head_mac {
            problems.push(note(Some(end), "the head's MAC is not the newest entry's"));
        }
        Ok(report)
    }

    /// Checks that the database still holds each head the heads file records, with its MAC. A head
    /// the chain's start has since passed was cut by retention (its checkpoint vouches for it).
    async fn verify_heads(&self, path: &Path, problems: &mut Vec<Problem>) -> Result<()> {
        if !path.exists() {
            let (chains,): (i64,) = on_db!(self.db(), pool =>
                sqlx::query_as("SELECT COUNT(*) FROM audit_chains WHERE head_seq > 0").fetch_one(pool).await?);
            if chains > 0 {
                let what = format!(
                    "the heads file {} is missing: without it, newest entries removed with their chain's head \
                     rewound cannot be found (is this the data directory Herald runs with?)",
                    path.display()
                );
                problems.push(Problem::new("", None, &what));
            }
            return Ok(());
        }
        let heads = match audit_heads::read(path) {
            Ok(heads) => heads,
            Err(e) => {
                let what = format!("the heads file {} cannot be read: {e}", path.display());
                problems.push(Problem::new("", None, &what));
                return Ok(());
            }
        };
        // A chain the file does not list could lose its newest entries unseen (the file was
        // removed, then made again by the next append to another chain).
        let chains: Vec<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT chain FROM audit_chains WHERE head_seq > 0 ORDER BY chain").fetch_all(pool).await?);
        for (chain,) in chains.iter().filter(|(c,)| !heads.contains_key(c)) {
            let what = format!(
                "the heads file {} does not list this chain: its newest entries could be removed unseen",
                path.display()
            );
            problems.push(Problem::new(chain, None, &what));
        }
        for (chain, head) in heads {
            let (mac, last, start) = self.head_in_db(&chain, head.seq).await?;
            if start.is_some_and(|s| head.seq < s) || mac.as_deref() == Some(head.mac.as_str()) {
                continue;
            }
            let ends = match last {
                Some(m) => format!("ends at seq {m}"),
                None => "holds none of its entries".to_owned(),
            };
            let (seq, recorded) = (head.seq, head.mac.chars().take(12).collect::<String>());
            let what = format!(
                "the heads file records seq {seq} (mac {recorded}…) but the database {ends}: \
                 the newest entries were removed or altered"
            );
            problems.push(Problem::new(&chain, Some(seq), &what));
        }
        Ok(())
    }

    /// Retention: deletes each chain's entries older than `before`, from its start up to the first
    /// entry that is not (so the chain stays whole) and never its newest (so it stays anchored to
    /// its head). Each chain is cut in its own transaction, which moves its start and signs a new
    /// checkpoint over it. Returns how many entries went.
    pub async fn audit_cut(&self, before: i64) -> Result<u64> {
        let chains: Vec<(String,)> = on_db!(self.db(), pool =>
            sqlx::query_as("SELECT chain FROM audit_chains ORDER BY chain").fetch_all(pool).await?);
        let signer = self.audit_signer();
        let mut removed = 0;
        for (chain,) in chains {
            removed += self.audit_cut_chain(&signer, &chain, before).await?;
        }
        Ok(removed)
    }

    async fn audit_cut_chain(&self, signer: &AuditSigner, chain: &str, before: i64) -> Result<u64> {
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            // Taking the head first keeps appends to the chain waiting until the cut is done.
            let (head_seq, start_seq): (i64, i64) = sqlx::query_as(
                "UPDATE audit_chains SET head_seq = head_seq WHERE chain = $1 RETURNING head_seq, start_seq")
                .bind(chain).fetch_one(&mut *tx).await?;
            let (recent,): (Option<i64>,) = sqlx::query_as(
                "SELECT MIN(seq) FROM audit_entries WHERE chain = $1 AND at >= $2")
                .bind(chain).bind(before).fetch_one(&mut *tx).await?;
            let last = recent.unwrap_or(head_seq).min(head_seq) - 1;
            if last < start_seq {
                return Ok(0);
            }
            let kept: Option<(String,)> = sqlx::query_as("SELECT mac FROM audit_entries WHERE chain = $1 AND seq = $2")
                .bind(chain).bind(last).fetch_optional(&mut *tx).await?;
            let Some((prev_mac,)) = kept else {
                tracing::error!(target: "herald::audit", chain, seq = last,
                    "the audit chain lacks the entry a retention cut would start after; nothing was cut, run a verification");
                return Ok(0);
            };
            let removed = sqlx::query("DELETE FROM audit_entries WHERE chain = $1 AND seq <= $2")
                .bind(chain).bind(last).execute(&mut *tx).await?.rows_affected();
            let (version, mac) = sign(signer, b"", &checkpoint(chain, last + 1, &prev_mac))?;
            sqlx::query(
                "UPDATE audit_chains SET start_seq = $1, start_prev_mac = $2, checkpoint_version = $3, checkpoint_mac = $4
                 WHERE chain = $5")
                .bind(last + 1).bind(&prev_mac).bind(version).bind(&mac).bind(chain).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(removed)
        })
    }

    /// The master key versions the audit log still needs to verify (its entries' and checkpoints'):
    /// retiring one of them would make those unverifiable.
    pub async fn audit_key_versions_in_use(&self) -> Result<Vec<MasterVersion>> {
        let rows: Vec<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT key_version FROM audit_entries
             UNION SELECT checkpoint_version FROM audit_chains WHERE checkpoint_version IS NOT NULL ORDER BY 1")
            .fetch_all(pool).await?);
        rows.into_iter().map(|(v,)| version(v)).collect()
    }
}
