//! What a platform's usage headers say of an account's allowance, read where each answer arrives
//! and handed to whoever watches the call ([`watched`]): the dispatcher, which works an account's
//! deliveries no faster than its allowance lets them go.

use std::cell::Cell;
use std::future::Future;

use jiff::Timestamp;

/// What the latest answer said of the account's allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headroom {
    /// Posts left after the answered call in the window that ends at `resets` (X's
    /// `x-rate-limit-*` on `POST /2/tweets`).
    Calls { left: u32, resets: Timestamp },
    /// The share of the account's allowance used over the platform's rolling window, in percent
    /// (Meta's `X-Business-Use-Case-Usage`: the highest of its measures).
    Used { percent: u32 },
}

tokio::task_local! {
    static SEEN: Cell<Option<Headroom>>;
}

/// Runs `call` and returns, beside its output, what the last usage headers among its answers said
/// (`None` where the platform sent none).
pub async fn watched<F: Future>(call: F) -> (F::Output, Option<Headroom>) {
    SEEN.scope(Cell::new(None), async {
        let out = call.await;
        (out, SEEN.with(Cell::get))
    })
    .await
}

/// Records what an answer's usage headers said, for the call being watched (nobody watches
/// outside the dispatcher: answering a comment or reading metrics reports to no one).
pub(crate) fn seen(headroom: Headroom) {
    // Outside `watched` nobody is listening, and that is fine.
    let _ = SEEN.try_with(|s| s.set(Some(headroom)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_watched_call_returns_the_last_headroom_its_answers_reported_and_an_unwatched_one_is_ignored() {
        seen(Headroom::Used { percent: 99 });
        let (out, headroom) = watched(async {
            seen(Headroom::Used { percent: 10 });
            seen(Headroom::Used { percent: 80 });
            7
        })
        .await;
        assert_eq!((out, headroom), (7, Some(Headroom::Used { percent: 80 })));
        let (_, none) = watched(async {}).await;
        assert_eq!(none, None, "a call without usage headers says nothing");
    }
}
