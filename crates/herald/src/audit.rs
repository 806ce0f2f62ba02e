//! `herald audit verify`: walks every audit chain in the database, checks each entry's MAC, the
//! checkpoints left by retention, and the heads recorded outside the database, and names where the
//! log was changed.

use anyhow::bail;

use crate::config::Settings;
use crate::keys::{load, open_store};

/// Verifies the audit log. Returns the report of an intact log; an altered one is an error that
/// names each chain and entry where it breaks.
pub async fn verify(settings: &Settings) -> anyhow::Result<String> {
    let store = open_store(settings, load(&settings.keys)?).await?;
    let heads = settings.audit_heads();
    let report = store.audit_verify(Some(&heads)).await?;
    let mut out = String::new();
    for c in &report.chains {
        out.push_str(&format!(
            "chain {}: entries {} to {} ({} read)\n",
            c.chain, c.start_seq, c.head_seq, c.entries
        ));
    }
    if report.problems.is_empty() {
        out.push_str(&format!(
            "the audit log verifies: {} chain(s), checked against {}",
            report.chains.len(),
            heads.display()
        ));
        return Ok(out);
    }
    for p in &report.problems {
        let chain = if p.chain.is_empty() {
            "log"
        } else {
            p.chain.as_str()
        };
        match p.seq {
            Some(seq) => out.push_str(&format!("BROKEN chain {chain} at entry {seq}: {}\n", p.what)),
            None => out.push_str(&format!("BROKEN chain {chain}: {}\n", p.what)),
        }
    }
    eprint!("{out}");
    bail!(
        "the audit log does not verify: {} problem(s), listed above",
        report.problems.len()
    )
}
