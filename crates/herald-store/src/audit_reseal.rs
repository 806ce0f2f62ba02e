//! Signing the audit log again under the newest master key, so that an older version can be
//! retired: each chain is first checked entry by entry under the keys that signed it (and against
//! the heads file), then every MAC is made anew, in one transaction per chain holding its head.

use herald_vault::{AuditSigner, MasterVersion};

use crate::audit::{COLUMNS, Problem, Sealed, check, checkpoint, sign};
use crate::{Result, Store, audit_heads, on_db};

impl Store {
    /// Signs again, under the newest key, every chain that `retiring` still signs (entries or
    /// retention checkpoint). A chain that does not verify is left as it is and named: the key it
    /// needs cannot go. Returns those problems (none when every chain was signed again).
    pub async fn audit_reseal(&self, retiring: MasterVersion) -> Result<Vec<Problem>> {
        let chains: Vec<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT chain FROM audit_chains WHERE checkpoint_version = $1
               OR chain IN (SELECT chain FROM audit_entries WHERE key_version = $1) ORDER BY chain")
            .bind(i64::from(retiring)).fetch_all(pool).await?);
        let signer = self.audit_signer();
        let mut problems = Vec::new();
        for (chain,) in chains {
            problems.extend(self.reseal_chain(&signer, &chain).await?);
        }
        Ok(problems)
    }

    async fn reseal_chain(&self, signer: &AuditSigner, chain: &str) -> Result<Option<Problem>> {
        let problem = |seq: Option<i64>, what: &str| Ok(Some(Problem::new(chain, seq, what)));
        let recorded = match &self.audit_heads {
            Some(path) => audit_heads::read(path).ok().and_then(|mut h| h.remove(chain)),
            None => None,
        };
        let (head_seq, head_mac) = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            // Holding the head keeps appends to the chain waiting until it is signed again.
            let (head_seq, start_seq, start_prev, cp_version, cp_mac): (i64, i64, String, Option<i64>, Option<String>) =
                sqlx::query_as("UPDATE audit_chains SET head_seq = head_seq WHERE chain = $1
                                RETURNING head_seq, start_seq, start_prev_mac, checkpoint_version, checkpoint_mac")
                    .bind(chain).fetch_one(&mut *tx).await?;
            let start_text = checkpoint(chain, start_seq, &start_prev);
            if let (Some(v), Some(mac)) = (cp_version, &cp_mac)
                && check(signer, v, b"", &start_text, mac).is_err()
            {
                return problem(None, "the retention checkpoint does not verify: not signed again");
            }
            let sql = format!("SELECT {COLUMNS}, key_version, mac FROM audit_entries WHERE chain = $1 AND seq <= $2 ORDER BY seq");
            let entries: Vec<Sealed> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(chain).bind(head_seq).fetch_all(&mut *tx).await?;
            let start_bytes = hex::decode(&start_prev).unwrap_or_default();
            let (mut old_prev, mut new_prev) = (start_bytes.clone(), start_bytes);
            let mut resigned = Vec::with_capacity(entries.len());
            for (n, e) in (start_seq..).zip(&entries) {
                let seq = e.record.seq;
                if seq != n {
                    return problem(Some(n), "this entry is missing: the chain was not signed again");
                }
                if recorded.as_ref().is_some_and(|h| h.seq == seq && h.mac != e.mac) {
                    return problem(Some(seq), "the heads file records another MAC here: the chain was not signed again");
                }
                let text = e.record.canonical();
                match check(signer, e.key_version, &old_prev, &text, &e.mac) {
                    Ok(mac) => old_prev = mac,
                    Err(err) => return problem(Some(seq), &format!("does not verify ({err}): the chain was not signed again")),
                }
                let (version, mac) = sign(signer, &new_prev, &text)?;
                new_prev = hex::decode(&mac).unwrap_or_default();
                resigned.push((seq, version, mac));
            }
            if resigned.last().map_or(start_seq - 1, |r| r.0) != head_seq {
                return problem(Some(head_seq), "the chain's newest entries are missing: it was not signed again");
            }
            for (seq, version, mac) in &resigned {
                sqlx::query("UPDATE audit_entries SET key_version = $1, mac = $2 WHERE chain = $3 AND seq = $4")
                    .bind(version).bind(mac).bind(chain).bind(seq).execute(&mut *tx).await?;
            }
            let head_mac = resigned.last().map_or(start_prev, |r| r.2.clone());
            sqlx::query("UPDATE audit_chains SET head_mac = $1 WHERE chain = $2")
                .bind(&head_mac).bind(chain).execute(&mut *tx).await?;
            if cp_version.is_some() {
                let (version, mac) = sign(signer, b"", &start_text)?;
                sqlx::query("UPDATE audit_chains SET checkpoint_version = $1, checkpoint_mac = $2 WHERE chain = $3")
                    .bind(version).bind(&mac).bind(chain).execute(&mut *tx).await?;
            }
            // The heads file first: a chain signed again with the file still holding its old MAC
            // would read as tampered with, so a file that cannot be written keeps the old MACs.
            if let Some(path) = &self.audit_heads
                && let Err(e) = audit_heads::replace(path, chain, head_seq, &head_mac)
            {
                return problem(None, &format!("the heads file cannot be written ({e}): the chain was not signed again"));
            }
            tx.commit().await?;
            (head_seq, head_mac)
        });
        tracing::info!(target: "herald::audit", chain, seq = head_seq, mac = %head_mac, "audit chain signed again");
        Ok(None)
    }
}
