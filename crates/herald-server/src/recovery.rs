//! Account recovery by an instance administrator on the server (`herald users reset-password`):
//! a new random password shown once, every session of the account ended, the reset audited.

use herald_store::{Actor, NewAudit, Store, StoreError};
use secrecy::SecretString;

use crate::Hashing;
use crate::auth::random_secret;
use crate::error::ApiError;

/// Gives the account with `email` a new random password and ends its sessions (its API tokens
/// keep working: the person revokes them if they may be exposed). Returns the password, to be
/// shown once, and how many sessions ended.
pub async fn reset_password(
    store: &Store,
    hashing: &Hashing,
    email: &str,
) -> Result<(SecretString, u64), String> {
    let email = email.trim().to_lowercase();
    let user = match store.find_login(&email).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return Err(format!("no account has the email {email}")),
        Err(e) => return Err(e.to_string()),
    };
    let password = random_secret();
    let hash = hashing
        .hash(SecretString::from(password.clone()))
        .await
        .map_err(|e: ApiError| e.message)?;
    let failed = |e: StoreError| e.to_string();
    store.set_password_hash(user, &hash).await.map_err(failed)?;
    let ended = store.revoke_other_sessions(user, None).await.map_err(failed)?;
    store
        .audit_after(NewAudit {
            workspace: None,
            actor: Actor::Cli,
            action: "auth.password_reset",
            target: format!("user:{user}"),
            client: None,
            detail: format!("sessions_ended={ended}"),
        })
        .await;
    Ok((SecretString::from(password), ended))
}
