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
