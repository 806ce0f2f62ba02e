//! `herald users …`: recovering an account from the server, as its administrator.

use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::keys::{load, open_store};

/// `herald users reset-password EMAIL`: a new random password for the account, printed once; its
/// sessions end.
pub async fn reset_password(settings: &Settings, email: &str) -> anyhow::Result<String> {
    let store = open_store(settings, load(&settings.keys)?).await?;
    let hashing = herald_server::Hashing::new(1);
    let (password, ended) = herald_server::reset_password(&store, &hashing, email)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(format!(
        "new password for {email} (shown once; give it to them privately and have them change it under Settings):\n{}\n{ended} session(s) signed out",
        password.expose_secret()
    ))
}

/// `herald users reset-2fa EMAIL`: the account's second factor and recovery codes deleted, so its
/// person signs in with the password alone and enrols again.
pub async fn reset_two_factor(settings: &Settings, email: &str) -> anyhow::Result<String> {
    let store = open_store(settings, load(&settings.keys)?).await?;
    let removed = herald_server::reset_two_factor(&store, email)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(if removed {
        format!(
            "two-factor sign-in is off for {email}: they sign in with their password and should enrol again under Settings"
        )
    } else {
        format!("{email} had no two-factor sign-in; nothing changed")
    })
}
