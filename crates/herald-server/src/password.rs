//! Passwords: what Herald accepts (12 to 1,024 characters, not one of the 10,000 most common, not
//! containing the email's name), and argon2id hashing on a few threads of its own, each with a
//! 19 MiB work area reused while sign-ins keep coming and given back to the system two seconds
//! after the last, so a burst of sign-ins neither exhausts memory nor leaves it held once over.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

pub(crate) const MIN_CHARS: usize = 12;
pub(crate) const MAX_CHARS: usize = 1024;
/// The email's local part counts only from this length (a password may contain "al").
const MIN_LOCAL_PART: usize = 3;

fn common() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../assets/common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with("# "))
            .collect()
    })
}

/// Why `password` is refused for the account `email`, as the person should read it.
pub(crate) fn check(password: &SecretString, email: &str) -> ApiResult<()> {
    let p = password.expose_secret();
    let chars = p.chars().count();
    let refuse =
        |code, message: String| Err(ApiError::unprocessable(code, message).with("field", "password".into()));
    if chars < MIN_CHARS {
        return refuse(
            "password_too_short",
            format!(
                "`password` must have at least {MIN_CHARS} characters; a few words in a row make a strong one"
            ),
        );
    }
    if chars > MAX_CHARS {
        return refuse(
            "password_too_long",
            format!("`password` may have at most {MAX_CHARS} characters"),
        );
    }
    let lower = p.to_lowercase();
    if common().contains(lower.as_str()) {
        return refuse(
            "password_too_common",
            "`password` is one of the 10,000 most common passwords, the first ones an attacker tries; choose another".into(),
        );
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.chars().count() >= MIN_LOCAL_PART && lower.contains(&local) {
        return refuse(
            "password_contains_email",
            "`password` contains your email's name, which anyone who knows your address can guess; choose another".into(),
        );
    }
    Ok(())
}

/// Computes argon2id hashes on a few threads of its own, one at a time each: memory stays at about
/// 19 MiB a thread however many sign-ins arrive, waiting sign-ins cost nothing, and an idle Herald
/// holds none of it.
#[derive(Clone)]
pub struct Hashing {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
    at_once: usize,
    areas: Areas,
}

impl std::fmt::Debug for Hashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashing")
            .field("at_once", &self.at_once)
            .field("free", &self.permits.available_permits())
            .field("areas", &self.areas)
            .finish()
    }
}

/// The work areas kept between two hashes (at most one a thread); `Debug` shows how many, never
/// what they hold.
#[derive(Clone, Default)]
struct Areas(Arc<std::sync::Mutex<Vec<Vec<Block>>>>);

impl std::fmt::Debug for Areas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.0.try_lock().map(|a| a.len());
        write!(
            f,
            "Areas({})",
            held.map_or_else(|_| "busy".into(), |n| n.to_string())
        )
    }
}

/// A hash to compute in the area given; what it returns delivers the result, once the area is back
/// with the others (so the next hash finds it there, and never more areas exist than threads).
type Job = Box<dyn FnOnce(&mut Vec<Block>) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce() + Send>;

/// A work area's reserved size, in blocks of 1 KiB: above 32 MiB, the most to which glibc's malloc
/// raises its threshold for mapping an allocation on its own (it raises it to the size of each
/// mapped block freed). Reserved this large, an area is mapped afresh (unless the thread's heap
/// happens to have that much free) and unmapped when dropped, so its memory goes back to the
/// system; a 19 MiB area would be mapped once, and after it was freed the next ones would come
/// from the thread's heap and stay resident (measured: 220–240 MiB after 200 sign-ins, see
/// PERFORMANCE.md). Only the pages a hash writes are resident.
const AREA_BLOCKS: usize = 33 * 1024;

/// How long the work areas are kept after the last hash: a burst of sign-ins reuses them (mapping
/// and faulting in 19 MiB for every hash cost 40% of the throughput), an idle Herald holds none.
const KEEP_AREAS: Duration = Duration::from_secs(2);

/// A mutex's value, even if a thread panicked while holding it (the areas and the queue stay usable).
fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh work area (see [`AREA_BLOCKS`]).
fn area() -> Vec<Block> {
    Vec::with_capacity(AREA_BLOCKS)
}

/// A reserved hashing slot; it is given back when its hash is done (or when dropped unused).
pub(crate) struct Slot(tokio::sync::OwnedSemaphorePermit);

/// Runs argon2 in `memory` (resized to what `params` need, and wiped afterwards: it held
/// password-derived data).
fn compute(
    memory: &mut Vec<Block>,
    argon: (Algorithm, Version, Params),
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let (algorithm, version, params) = argon;
    memory.resize(params.block_count(), Block::default());
    let result = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        out,
        &mut memory[..],
    );
    memory.fill(Block::default());
    result
}

/// A new PHC string for `password`: argon2id, version 19, the default (OWASP) parameters.
fn hash_in(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let params = Params::default();
    let mut out = [0u8; 32];
    let argon = (Algorithm::Argon2id, Version::V0x13, params.clone());
    compute(memory, argon, password, &salt, &mut out).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored` (in constant time for the comparison).
fn verify_in(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(phc.algorithm.as_str()),
        Params::try_from(&phc),
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    // The candidate's hash is wiped too: it is derived from the password typed.
    let mut out = secrecy::zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    compute(
        memory,
        (algorithm, version, params),
        password,
        salt.as_ref(),
        &mut out,
    )
    .is_ok()
        && Output::new(&out).is_ok_and(|o| o == *expected)
}

/// How long a sign-in may wait for a free hashing slot before it is told to retry.
const WAIT: Duration = Duration::from_secs(10);

impl Hashing {
    /// `at_once` hashing threads; they end when the last clone of this is dropped.
    pub fn new(at_once: usize) -> Self {
        let at_once = at_once.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let areas = Areas::default();
        for i in 0..at_once {
            let (queue, areas) = (queue.clone(), areas.0.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("herald-hash-{i}"))
                .spawn(move || {
                    loop {
                        // The thread waiting for the next job (the others wait for the queue)
                        // gives the areas back whenever no hash came for a while.
                        let job = {
                            let queue = locked(&queue);
                            loop {
                                match queue.recv_timeout(KEEP_AREAS) {
                                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => locked(&areas).clear(),
                                    r => break r.ok(),
                                }
                            }
                        };
                        let Some(job) = job else { return };
                        let taken = locked(&areas).pop();
                        let mut memory = taken.unwrap_or_else(area);
                        let deliver = job(&mut memory);
                        locked(&areas).push(memory);
                        deliver();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            permits: Arc::new(Semaphore::new(at_once)),
            jobs,
            at_once,
            areas,
        }
    }

    /// As many as the machine has cores.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    pub fn at_once(&self) -> usize {
        self.at_once
    }

    /// A hashing slot, waited for (up to ten seconds, then `503 busy`): a sign-in takes one before
    /// its attempt is counted, so an attempt that never gets its password checked is not counted.
    pub(crate) async fn reserve(&self) -> ApiResult<Slot> {
        tokio::time::timeout(WAIT, self.permits.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .map(Slot)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "Herald is checking many passwords right now; try again in a few seconds",
                )
                .retry_after(2)
            })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> ApiResult<T> {
        let slot = self.reserve().await?;
        self.run_in(slot, work).await
    }

    async fn run_in<T: Send + 'static>(
        &self,
        Slot(permit): Slot,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> ApiResult<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        // The permit travels with the job and is released when the hash is done, not when the
        // request goes away: a client that disconnects cannot queue more work than there are slots.
        self.jobs
            .send(Box::new(move |memory: &mut Vec<Block>| {
                let out = work(memory);
                Box::new(move || {
                    let _ = done.send(out);
                    drop(permit);
                })
            }))
            .map_err(|_| ApiError::internal(&"the password hashing threads are gone"))?;
        result
            .await
            .map_err(|_| ApiError::internal(&"a password hash was not computed"))
    }

    pub(crate) async fn hash(&self, password: SecretString) -> ApiResult<String> {
        self.run(move |memory| hash_in(memory, password.expose_secret().as_bytes()))
            .await?
            .map_err(|e| ApiError::internal(&e))
    }

    /// Checks `password` against `hash` in a slot taken with [`Hashing::reserve`].
    pub(crate) async fn verify(&self, slot: Slot, password: SecretString, hash: String) -> ApiResult<bool> {
        self.run_in(slot, move |memory| {
            verify_in(memory, password.expose_secret().as_bytes(), &hash)
        })
        .await
    }

    /// Computes the dummy hash now, so that even the first unknown email costs one hash.
    pub async fn warm(&self) -> Result<(), String> {
        self.dummy().await.map(drop).map_err(|e| e.message)
    }

    /// A real hash of nothing in particular, so an unknown email costs what a known one does.
    pub(crate) async fn dummy(&self) -> ApiResult<String> {
        static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        DUMMY
            .get_or_try_init(|| self.hash(SecretString::from(crate::auth::random_secret())))
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(p: &str, email: &str) -> Option<&'static str> {
        check(&SecretString::from(p.to_owned()), email)
            .err()
            .map(|e| e.code)
    }

    #[test]
    fn a_hash_verifies_its_password_only_and_reads_the_hashes_argon2_writes() {
        let mut memory = Vec::new();
        let h = hash_in(&mut memory, b"correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_in(&mut memory, b"correct horse battery", &h));
        assert!(!verify_in(&mut memory, b"correct horse batterz", &h));
        assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)), "wiped");
        // A hash made by argon2's own PasswordHasher (as Herald stored them before) verifies.
        use argon2::PasswordHasher;
        let theirs = Argon2::default()
            .hash_password(b"an older password")
            .unwrap()
            .to_string();
        assert!(verify_in(&mut memory, b"an older password", &theirs));
        assert!(!verify_in(&mut memory, b"an older password", "not a hash"));
    }

    #[tokio::test]
    async fn the_work_areas_are_reused_while_hashes_come_and_given_back_once_none_came_for_a_while() {
        let hashing = Hashing::new(1);
        let held = || locked(&hashing.areas.0).len();
        let first = hashing
            .hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert_eq!(held(), 1, "kept for the next hash");
        let slot = hashing.reserve().await.unwrap();
        assert!(
            hashing
                .verify(slot, SecretString::from("correct horse battery"), first)
                .await
                .unwrap()
        );
        assert_eq!(held(), 1, "the same area served the second hash");
        assert!(
            format!("{hashing:?}").contains("Areas(1)"),
            "Debug shows the count only"
        );
        // Polled, not slept on: the thread gives the area back KEEP_AREAS after the last hash.
        let deadline = std::time::Instant::now() + KEEP_AREAS * 10;
        while held() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the idle area was never given back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[test]
    fn each_refused_password_says_why() {
        let email = "sam.baker@example.com";
        assert_eq!(code("short pass", email), Some("password_too_short"));
        assert_eq!(code(&"x".repeat(1025), email), Some("password_too_long"));
        assert_eq!(
            code("QWERTY123456", email),
            Some("password_too_common"),
            "any case"
        );
        assert_eq!(code("1qaz2wsx3edc", email), Some("password_too_common"));
        assert_eq!(
            code("my Sam.Baker password", email),
            Some("password_contains_email")
        );
        assert_eq!(code("correct horse battery", email), None);
        assert_eq!(
            code("ab is fine in here", "ab@example.com"),
            None,
            "a two-letter name"
        );
        assert_eq!(code(&"é".repeat(12), email), None, "characters, not bytes");
        assert_eq!(common().len(), 10_000);
    }
}
