//! The master keyring on disk or in the environment, and `herald keys rotate|status|retire`.

use std::sync::Arc;

use anyhow::{Context, bail};
use herald_domain::Clock;
use herald_store::{Actor, Db, NewAudit, Store};
use herald_vault::{KeySource, Keyring, Vault};
use secrecy::ExposeSecret;

use crate::config::{KeySetting, Settings};

fn source(setting: &KeySetting) -> KeySource {
    match setting {
        KeySetting::Inline(_) => KeySource::Inline,
        KeySetting::File(p) => KeySource::File(p.clone()),
    }
}

/// Loads an existing keyring (`herald keys`): a missing file is an error, never a new keyring.
pub fn load(setting: &KeySetting) -> anyhow::Result<Vault> {
    if let KeySetting::File(path) = setting
        && !path.exists()
    {
        bail!(
            "no master keyring at {}: `herald serve` creates one on its first start; if yours is lost, restore it from your backup (HERALD_MASTER_KEYS_FILE names another place)",
            path.display()
        );
    }
    load_or_create(setting)
}

/// Loads the keyring; a missing keyring file is created with a new key and a loud warning.
pub fn load_or_create(setting: &KeySetting) -> anyhow::Result<Vault> {
    let src = source(setting);
    let ring = match setting {
        KeySetting::Inline(s) => {
            Keyring::parse(s.expose_secret()).context("HERALD_MASTER_KEYS is malformed")?
        }
        KeySetting::File(path) if !path.exists() => {
            let ring = Keyring::generate()?;
            src.save(&ring)?;
            tracing::warn!(
                path = %path.display(),
                "generated a new master key. BACK THIS FILE UP: without it no stored token can ever be decrypted"
            );
            eprintln!(
                "WARNING: generated a new master key at {}. Back it up: without it no stored token can be decrypted.",
                path.display()
            );
            ring
        }
        // Its errors name the file (and, for one others may read, the chmod that fixes it).
        KeySetting::File(_) => src.load(None)?,
    };
    Ok(Vault::new(ring, src))
}

/// The store for a command run on the server (its audit entries name the command line).
pub(crate) async fn open_store(settings: &Settings, vault: Vault) -> anyhow::Result<Store> {
    let db = Db::connect(settings.database_url.expose())
        .await
        .context("connecting to the database")?;
    db.migrate().await.context("migrating the database")?;
    Ok(Store::new(db, Arc::new(vault), Clock::system()).with_audit_heads(settings.audit_heads()))
}

/// Records a command's change to the keyring in the instance's audit chain (the change is made:
/// a failure to record it is logged, not reported as the command failing).
async fn audited(store: &Store, action: &str, version: u32) {
    store
        .audit_after(NewAudit {
            workspace: None,
            actor: Actor::Cli,
            action,
            target: format!("master_key:{version}"),
            client: None,
            detail: String::new(),
        })
        .await;
}

/// Adds a master key version, saves the ring, and re-wraps every data key under it.
pub async fn rotate(settings: &Settings) -> anyhow::Result<String> {
    let vault = load(&settings.keys)?;
    let mut ring = (*vault.ring()).clone();
    let version = ring.add_new_version()?;
    match &settings.keys {
        KeySetting::File(_) => source(&settings.keys).save(&ring)?,
        KeySetting::Inline(_) => bail!(
            "the keyring comes from HERALD_MASTER_KEYS, which Herald cannot change: put the keyring in a file (HERALD_MASTER_KEYS_FILE) to rotate with this command"
        ),
    }
    let store = open_store(settings, Vault::new(ring.clone(), source(&settings.keys))).await?;
    let n = store.rewrap_data_keys(&ring).await?;
    audited(&store, "key.rotated", version).await;
    Ok(format!(
        "added master key version {version}; re-wrapped {n} data key(s). Running processes pick the new ring up on their own."
    ))
}

pub async fn status(settings: &Settings) -> anyhow::Result<String> {
    let vault = load(&settings.keys)?;
    let ring = vault.ring();
    let store = open_store(settings, vault).await?;
    let counts = store.key_status().await?;
    let mut out = format!(
        "current master key version: {}\n",
        ring.current().unwrap_or_default()
    );
    for v in ring.versions() {
        let n = counts
            .iter()
            .find(|c| c.master_version == v)
            .map_or(0, |c| c.data_keys);
        out.push_str(&format!("version {v}: wraps {n} data key(s)\n"));
    }
    for c in counts
        .iter()
        .filter(|c| !ring.versions().contains(&c.master_version))
    {
        out.push_str(&format!(
            "version {} (NOT IN THE RING): wraps {} data key(s)\n",
            c.master_version, c.data_keys
        ));
    }
    Ok(out)
}

/// Removes a version that wraps no data key and is not the current one.
pub async fn retire(settings: &Settings, version: u32) -> anyhow::Result<String> {
    let vault = load(&settings.keys)?;
    let mut ring = (*vault.ring()).clone();
    if ring.current() == Some(version) {
        bail!("version {version} is the current master key; run `herald keys rotate` first");
    }
    if !ring.versions().contains(&version) {
        bail!(
            "version {version} is not in the keyring (it has {:?})",
            ring.versions()
        );
    }
    let store = open_store(settings, vault).await?;
    let wraps = store
        .key_status()
        .await?
        .into_iter()
        .find(|c| c.master_version == version)
        .map_or(0, |c| c.data_keys);
    if wraps > 0 {
        bail!(
            "version {version} still wraps {wraps} data key(s); run `herald keys rotate` to re-wrap them first"
        );
    }
    // The audit log is signed again under the newest key, once checked; a log that does not
    // verify keeps the key it needs.
    if store.audit_key_versions_in_use().await?.contains(&version) {
        let report = store.audit_verify(Some(&settings.audit_heads())).await?;
        let mut problems = report.problems;
        if problems.is_empty() {
            problems = store.audit_reseal(version).await?;
        }
        if let Some(p) = problems.first() {
            bail!(
                "version {version} still signs audit entries that do not verify (chain {}{}: {}); run `herald audit verify` and keep the key until that is understood",
                p.chain,
                p.seq.map_or(String::new(), |s| format!(" at entry {s}")),
                p.what
            );
        }
        if store.audit_key_versions_in_use().await?.contains(&version) {
            bail!(
                "version {version} signed audit entries while they were signed again; run the command again"
            );
        }
    }
    if let KeySetting::Inline(_) = settings.keys {
        bail!(
            "the keyring comes from HERALD_MASTER_KEYS: remove version {version} from that variable instead"
        );
    }
    ring.remove(version);
    source(&settings.keys).save(&ring)?;
    audited(&store, "key.retired", version).await;
    Ok(format!("retired master key version {version}"))
}
