//! Token care for every connected profile, not only when a post is due: tokens are renewed ahead
//! of expiry (one refresh per profile at a time across every process, through a lease on its row),
//! a refresh refused as an invalid grant makes the profile `needs_reconnect` and parks its
//! deliveries, an expired token does the same, and a consent about to end is said in a notification.

use std::time::Duration;

use herald_domain::platform::Login;
use herald_domain::profile::{ReconnectReason, SecretKind};
use herald_platforms::PlatformError;
use herald_store::ProfileDue;
use jiff::SignedDuration;
use secrecy::ExposeSecret;

use crate::Dispatcher;
use crate::metrics::Renewal;

/// How often the profiles are looked at (and whenever the clock moves).
const TEND_EVERY: Duration = Duration::from_secs(60);
/// How long one refresh may hold its profile: longer than the call.
const REFRESH_LEASE: Duration = Duration::from_secs(60);
/// After a refresh failed for a passing reason, when it is tried again.
const REFRESH_RETRY: Duration = Duration::from_secs(10 * 60);
/// Profiles refreshed per look.
const BATCH: i64 = 32;

impl Dispatcher {
    /// Looks after every profile's token until `shutdown` resolves.
    pub async fn care_for_tokens(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let seen = self.clock.moves();
            self.tend().await;
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(TEND_EVERY) => {}
                () = self.clock.moved_since(seen) => {}
            }
        }
    }

    /// One look: renew what is due, hold what expired, say what ends soon.
    pub async fn tend(&self) {
        for login in Login::ALL.into_iter().filter(|l| l.refreshes_tokens()) {
            loop {
                let now = self.clock.now();
                let before = now + SignedDuration::try_from(self.settings.refresh_within).unwrap_or_default();
                let due = self
                    .store
                    .claim_refreshes(
                        &self.owner,
                        self.lease_until(REFRESH_LEASE),
                        login,
                        before.as_microsecond(),
                        (now - login.refresh_min_age()).as_microsecond(),
                        BATCH,
                    )
                    .await;
                match due {
                    Ok(due) if due.is_empty() => break,
                    Ok(due) => {
                        for p in due {
                            self.refresh(login, p).await;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "claiming token refreshes failed");
                        break;
                    }
                }
            }
        }
        if let Err(e) = self.hold_expired().await {
            tracing::error!(error = %e, "holding profiles with expired tokens failed");
        }
        if let Err(e) = self.warn_expiring().await {
            tracing::error!(error = %e, "noting consents that end soon failed");
        }
    }

    /// Renews one profile's token; the outcome is stored before the lease is let go.
    async fn refresh(&self, login: Login, p: ProfileDue) {
        let result = async {
            let profile = self.store.get_profile(p.workspace, p.profile).await?;
            if profile.login != login || self.settings.backends.mismatch(login, profile.sandbox).is_some() {
                // Its tokens go nowhere from this process.
                return Ok(None);
            }
            let secret = |kind| self.store.get_secret(p.workspace, p.profile, kind);
            let token = secret(SecretKind::AccessToken).await?;
            let renew = secret(SecretKind::RefreshToken).await?;
            // A profile chosen from a grant whose user token it shares (LinkedIn's Pages, Snap's
            // Public Profiles): its renewal is the grant's, and its siblings'.
            let shared = match profile.grant.filter(|_| login.rotates_refresh_tokens()) {
                Some(g) => {
                    let user = self.store.grant_token(p.workspace, g).await.ok();
                    let same = |t: &secrecy::SecretString| {
                        user.as_ref()
                            .is_some_and(|u| u.expose_secret() == t.expose_secret())
                    };
                    token.as_ref().filter(|t| same(t)).map(|_| g)
                }
                None => None,
            };
            Ok::<_, herald_store::StoreError>(token.map(|t| (t, renew, profile.reconnect_by, shared)))
        }
        .await;
        let (token, renew, reconnect_by, shared) = match result {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(profile = %p.profile, error = %e, "reading a token to refresh failed");
                return;
            }
        };
        let now = self.clock.now();
        let refreshed = self
            .platforms
            .connector(login)
            .refresh(&token, renew.as_ref(), now)
            .await;
        let outcome = match refreshed {
            Ok(r) => {
                let saved = self
                    .store
                    .finish_refresh(
                        p,
                        &self.owner,
                        r.access_token.expose_secret(),
                        r.renew.as_ref().map(|r| r.token.expose_secret()),
                        r.expires_at.map(|t| t.as_microsecond()),
                    )
                    .await;
                match saved {
                    Ok(()) => {
                        tracing::info!(profile = %p.profile, "access token refreshed");
                        crate::metrics::refreshed(login, Renewal::Renewed);
                        self.audit(&p, "profile.refreshed", "").await;
                        // A refresh token that rotates would leave the grant and the profiles
                        // sharing it with one that no longer works: they get the new pair too.
                        match shared {
                            Some(g) => {
                                self.store
                                    .share_renewal(
                                        p.workspace,
                                        g,
                                        Some(p.profile),
                                        &r.access_token,
                                        r.renew.as_ref().map(|r| &r.token),
                                        r.expires_at.map(|t| t.as_microsecond()),
                                    )
                                    .await
                            }
                            None => Ok(()),
                        }
                    }
                    // Disconnected meanwhile: the new tokens are not kept, nor left working.
                    Err(herald_store::StoreError::Conflict(why)) => {
                        tracing::info!(profile = %p.profile, %why, "revoking the tokens just renewed");
                        let renewed = r.renew.as_ref().map(|r| &r.token);
                        if let Err(e) = self
                            .platforms
                            .connector(login)
                            .revoke(&r.access_token, renewed)
                            .await
                        {
                            tracing::warn!(profile = %p.profile, error = %e, "revoking the tokens just renewed failed");
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            // A rotated refresh token is refused once used: if another process renewed this
            // profile meanwhile (its lease lapsed under us), the stored one changed and all is well.
            Err(PlatformError::TokenExpired | PlatformError::TokenRevoked(_))
                if self.renewed_meanwhile(p, renew.as_ref()).await =>
            {
                tracing::info!(profile = %p.profile, "another process renewed the token meanwhile");
                Ok(())
            }
            Err(e @ (PlatformError::TokenExpired | PlatformError::TokenRevoked(_))) => {
                // A refresh token past its fixed end (LinkedIn's year) is refused like a revoked
                // one; the person's consent simply ended.
                let ended = reconnect_by.is_some_and(|by| by <= now.as_microsecond());
                let reason = match e {
                    PlatformError::TokenExpired => ReconnectReason::Expired,
                    _ if ended => ReconnectReason::Expired,
                    _ => ReconnectReason::RevokedOnPlatform,
                };
                tracing::warn!(profile = %p.profile, error = %e, "the platform refused to renew the token");
                crate::metrics::refreshed(login, Renewal::Refused);
                self.hold(p, reason).await
            }
            Err(e) => {
                tracing::warn!(profile = %p.profile, error = %e, "token refresh failed; trying again later");
                crate::metrics::refreshed(login, Renewal::Failed);
                self.store
                    .defer_refresh(p, &self.owner, self.lease_until(REFRESH_RETRY))
                    .await
            }
        };
        if let Err(e) = outcome {
            tracing::error!(profile = %p.profile, error = %e, "recording a token refresh failed");
        }
    }

    /// Whether the refresh token stored now differs from `used` (a refresh elsewhere replaced it).
    async fn renewed_meanwhile(&self, p: ProfileDue, used: Option<&secrecy::SecretString>) -> bool {
        let Some(used) = used else {
            return false;
        };
        match self
            .store
            .get_secret(p.workspace, p.profile, SecretKind::RefreshToken)
            .await
        {
            Ok(Some(now)) => now.expose_secret() != used.expose_secret(),
            _ => false,
        }
    }

    /// Profiles whose token expired wait for their person, with their deliveries.
    async fn hold_expired(&self) -> Result<(), herald_store::StoreError> {
        for p in self.store.expired_tokens().await? {
            self.hold(p, ReconnectReason::Expired).await?;
        }
        Ok(())
    }

    /// Records what the token care did to a profile in its workspace's audit chain.
    async fn audit(&self, p: &ProfileDue, action: &str, detail: &str) {
        self.store
            .audit_after(herald_store::NewAudit {
                workspace: Some(p.workspace),
                actor: herald_store::Actor::System,
                action,
                target: format!("profile:{}", p.profile),
                client: None,
                detail: detail.to_owned(),
            })
            .await;
    }

    async fn hold(&self, p: ProfileDue, reason: ReconnectReason) -> Result<(), herald_store::StoreError> {
        self.audit(&p, "profile.needs_reconnect", reason.as_str()).await;
        let parked = self
            .store
            .hold_for_reconnect(p.workspace, p.profile, reason, reason.explain())
            .await?;
        let message = match parked {
            0 => reason.explain().to_owned(),
            n => format!("{} {n} scheduled post(s) wait for it.", reason.explain()),
        };
        self.notify_reconnect(p.workspace, p.profile, reason, &message)
            .await
    }

    /// A notification for each profile whose consent ends within the configured days.
    async fn warn_expiring(&self) -> Result<(), herald_store::StoreError> {
        let now = self.clock.now();
        let before = now + SignedDuration::try_from(self.settings.expiring_soon).unwrap_or_default();
        let renewable: Vec<Login> = Login::ALL.into_iter().filter(|l| l.refreshes_tokens()).collect();
        for p in self
            .store
            .consents_ending(before.as_microsecond(), &renewable)
            .await?
        {
            let ends = herald_domain::clock::from_micros(p.at);
            let message =
                format!("This profile's access ends at {ends}; reconnect it before then to keep publishing.");
            self.notify_profile(p, "profile_expiring_soon", &message, &p.at.to_string())
                .await?;
        }
        Ok(())
    }
}
