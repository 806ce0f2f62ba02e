//! Retention: the sweep that deletes what Herald keeps for 90 days only (deliveries' histories,
//! notifications, the audit log, ended invitations, the audit chains of deleted workspaces) once
//! it is older. Every `herald serve` and `herald worker` runs it by itself every hour (and when
//! its clock is moved that far);
//! `herald retention run` runs it now and says what went.

use std::future::Future;
use std::time::Duration;

use herald_store::{Actor, NewAudit, RETENTION, RetentionReport, Store};

use crate::config::Settings;
use crate::keys::{load, open_store};

/// How often a running Herald sweeps.
const EVERY: Duration = Duration::from_secs(3600);

/// Sweeps every hour of the store's clock until `stop` resolves; the first sweep runs at start.
pub async fn sweeper(store: Store, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    let every = i64::try_from(EVERY.as_micros()).unwrap_or(i64::MAX);
    let mut last: Option<i64> = None;
    loop {
        // Read before sweeping, so a move made meanwhile still wakes the wait below.
        let seen = store.clock().moves();
        let now = store.clock().now().as_microsecond();
        if last.is_none_or(|l| now - l >= every) {
            last = Some(now);
            match store.retention_sweep(now, RETENTION).await {
                Ok(r) if r.total() == 0 => {}
                Ok(r) => {
                    tracing::info!(
                        delivery_events = r.delivery_events,
                        notifications = r.notifications,
                        audit_entries = r.audit_entries,
                        invitations = r.invitations,
                        deleted_workspaces = r.deleted_workspaces,
                        "retention: removed what is older than 90 days"
                    );
                    audited(&store, Actor::System, &r).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the retention sweep failed; it runs again within the hour")
                }
            }
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(EVERY) => {}
            () = store.clock().moved_since(seen) => {}
        }
    }
}

/// Records a sweep that removed something in the instance's audit chain (counts only).
async fn audited(store: &Store, actor: Actor, r: &RetentionReport) {
    store
        .audit_after(NewAudit {
            workspace: None,
            actor,
            action: "retention.swept",
            target: String::new(),
            client: None,
            detail: format!(
                "delivery_events={} notifications={} audit_entries={} invitations={} deleted_workspaces={}",
                r.delivery_events, r.notifications, r.audit_entries, r.invitations, r.deleted_workspaces
            ),
        })
        .await;
}

/// `herald retention run`: sweeps now, and says how many of each kind went, one line each.
pub async fn run(settings: &Settings) -> anyhow::Result<String> {
    let store = open_store(settings, load(&settings.keys)?).await?;
    let now = store.clock().now();
    let r = store.retention_sweep(now.as_microsecond(), RETENTION).await?;
    if r.total() > 0 {
        audited(&store, Actor::Cli, &r).await;
    }
    let since = now - jiff::SignedDuration::try_from(RETENTION)?;
    Ok(format!(
        "delivery events removed: {}\nnotifications removed: {}\naudit entries removed: {} (each chain keeps a signed checkpoint where it now starts)\ninvitations removed: {}\ndeleted workspaces' last rows removed: {}\nkept: everything since {}",
        r.delivery_events,
        r.notifications,
        r.audit_entries,
        r.invitations,
        r.deleted_workspaces,
        since.strftime("%Y-%m-%d %H:%M UTC")
    ))
}
