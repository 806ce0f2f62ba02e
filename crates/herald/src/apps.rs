//! Each login's app at its platform (id, secret, hosts), for every login the registry knows: the
//! flags and `HERALD_{LOGIN}_*` variables are made from the registry's list, and the config file
//! holds one `[{login}]` table per login. A login without an app is stood in for by the sandbox.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Arg, ArgAction, ArgMatches};
use herald_domain::platform::Login;
use herald_platforms::{App, Registry};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

/// A login's app as the file's `[{login}]` table (or the flags and variables) give it.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AppSource {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    www_base: Option<Url>,
    api_base: Option<Url>,
    graph_base: Option<Url>,
}

/// A host's flag word: the first label of its real name (`graph` for `graph.facebook.com`).
pub fn label(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

fn leak(s: String) -> &'static str {
    // Flags are made once per process, for its whole life.
    Box::leak(s.into_boxed_str())
}

/// A login's name in flags (`tiktok-business`).
pub fn flag_word(login: Login) -> String {
    login.as_str().replace('_', "-")
}

fn id(login: Login, what: &str) -> String {
    format!("{}_{what}", login.as_str())
}

/// The flags of every login's app: `--{login}-client-id`, `--{login}-client-secret-file` and one
/// `--{login}-{host}-base` per host, each with its `HERALD_*` variable.
pub fn args() -> Vec<Arg> {
    let mut out = Vec::new();
    for login in Login::ALL {
        let (l, upper) = (flag_word(login), login.as_str().to_uppercase());
        let name = login.display_name();
        out.push(
            Arg::new(leak(id(login, "client_id")))
                .long(leak(format!("{l}-client-id")))
                .env(leak(format!("HERALD_{upper}_CLIENT_ID")))
                .global(true)
                .help(leak(format!(
                    "{name} app id; with the secret (HERALD_{upper}_CLIENT_SECRET or its _FILE), switches {name} Login from the sandbox to the real API"
                ))),
        );
        out.push(
            Arg::new(leak(id(login, "client_secret_file")))
                .long(leak(format!("{l}-client-secret-file")))
                .env(leak(format!("HERALD_{upper}_CLIENT_SECRET_FILE")))
                .global(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help(leak(format!("A file holding the {name} app secret"))),
        );
        let h = Registry::hosts(login);
        for (what, host) in h.each() {
            let word = label(host);
            out.push(
                Arg::new(leak(id(login, what)))
                    .long(leak(format!("{l}-{word}-base")))
                    .env(leak(format!("HERALD_{upper}_{}_BASE", word.to_uppercase())))
                    .global(true)
                    .action(ArgAction::Set)
                    .value_parser(clap::value_parser!(Url))
                    .help(leak(format!("Where {host} is reached (default: the real host)"))),
            );
        }
    }
    out
}

/// Secrets that take no flag, and where each goes instead.
pub fn secret_flags() -> Vec<(String, String)> {
    Login::ALL
        .into_iter()
        .map(|login| {
            let (l, upper) = (flag_word(login), login.as_str().to_uppercase());
            (
                format!("--{l}-client-secret"),
                format!(
                    "HERALD_{upper}_CLIENT_SECRET (or its _FILE, or [{}] client_secret in the config file)",
                    login.as_str()
                ),
            )
        })
        .collect()
}

/// Takes the `[{login}]` tables out of the config file, leaving the other settings.
pub fn from_file(table: &mut toml::Table) -> anyhow::Result<HashMap<Login, AppSource>> {
    let mut out = HashMap::new();
    for login in Login::ALL {
        if let Some(v) = table.remove(login.as_str()) {
            let source: AppSource = v
                .try_into()
                .with_context(|| format!("the [{}] table", login.as_str()))?;
            out.insert(login, source);
        }
    }
    Ok(out)
}

/// Every login's real app (flags and variables over the file); a login without one is absent.
pub fn resolve(
    matches: &ArgMatches,
    mut file: HashMap<Login, AppSource>,
) -> anyhow::Result<HashMap<Login, App>> {
    let mut apps = HashMap::new();
    for login in Login::ALL {
        let f = file.remove(&login).unwrap_or_default();
        // A login with one API host has no `graph` flag.
        let url = |what: &str| {
            matches
                .try_get_one::<Url>(&id(login, what))
                .ok()
                .flatten()
                .cloned()
        };
        let source = AppSource {
            client_id: matches
                .get_one::<String>(&id(login, "client_id"))
                .cloned()
                .or(f.client_id),
            client_secret: std::env::var(format!("HERALD_{}_CLIENT_SECRET", login.as_str().to_uppercase()))
                .ok()
                .or(f.client_secret),
            client_secret_file: matches
                .get_one::<PathBuf>(&id(login, "client_secret_file"))
                .cloned()
                .or(f.client_secret_file),
            www_base: url("www").or(f.www_base),
            api_base: url("api").or(f.api_base),
            graph_base: url("graph").or(f.graph_base),
        };
        if let Some(app) = app(login, source)? {
            apps.insert(login, app);
        }
    }
    Ok(apps)
}

/// A secret kept in a file, without the surrounding white space.
pub fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_owned())
}

/// A login's real app, `None` for the sandbox.
fn app(login: Login, p: AppSource) -> anyhow::Result<Option<App>> {
    let env = login.as_str().to_uppercase();
    let secret = match (p.client_secret, p.client_secret_file) {
        (Some(_), Some(_)) => {
            bail!("set HERALD_{env}_CLIENT_SECRET or HERALD_{env}_CLIENT_SECRET_FILE, not both")
        }
        (Some(s), None) => Some(s),
        (None, Some(path)) => Some(read_secret_file(&path)?),
        (None, None) => None,
    };
    let any_base = p.www_base.is_some() || p.api_base.is_some() || p.graph_base.is_some();
    match (p.client_id, secret) {
        (Some(client_id), Some(secret)) => {
            let mut app = App::real(login, client_id, SecretString::from(secret));
            app.www_base = p.www_base.unwrap_or(app.www_base);
            app.api_base = p.api_base.unwrap_or(app.api_base);
            app.graph_base = p.graph_base.unwrap_or(app.graph_base);
            let h = Registry::hosts(login);
            if h.graph == h.api {
                app.graph_base = app.api_base.clone();
            }
            Ok(Some(app))
        }
        (None, None) if !any_base => Ok(None),
        (None, None) => bail!(
            "{env} base URLs are set but no client id and secret: set HERALD_{env}_CLIENT_ID and HERALD_{env}_CLIENT_SECRET"
        ),
        _ => bail!(
            "set both HERALD_{env}_CLIENT_ID and HERALD_{env}_CLIENT_SECRET (or neither, to use the sandbox)"
        ),
    }
}
