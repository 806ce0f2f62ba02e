//! Multi-row `VALUES` lists: the placeholders of one, and rows cut into statements small enough
//! to go in one write to the database's socket.

/// The most bytes of values one multi-row statement carries, roughly. sqlx 0.9.0 leaves Nagle's
/// algorithm on for its TCP connections (sqlx issue #4335, fixed after 0.9.0): a message larger
/// than the socket's send buffer goes in two writes, and the second then waits for PostgreSQL's
/// delayed acknowledgement, 40 ms on Linux (measured: the audit inserts of 47 rows took 44 ms
/// each in a burst, the burst's first, smaller ones about 1 ms). Well under the 16 KiB a fresh
/// Linux socket starts with. This works around the stall, it does not remove it: a single value
/// larger than that still goes in one message. Once Herald is on a sqlx that sets `TCP_NODELAY`,
/// the cutting can go.
const BUDGET: usize = 8 * 1024;

/// What one bound value costs in a message beyond its bytes: its length, its type and its
/// placeholder in the statement's text.
pub(crate) const PER_VALUE: usize = 16;

/// The rows a multi-row statement of `rows` rows is written with: the next power of two, the rows
/// beyond `rows` all NULL, which each statement ignores (the claim's list of busy accounts repeats
/// its first instead: a NULL in `NOT IN` would exclude every row). So a statement has one of a few texts
/// whatever the size of its batch: PostgreSQL parses and plans each new text afresh on each
/// connection (and a text's first executions too), and with a text for every row count nearly
/// every batch was planned anew (a third of the database's CPU in a 10,000 burst, by `perf`). A NULL
/// costs a few bytes of the message (and of the text), so a run padded to twice its rows stays
/// well under the 16 KiB of [`BUDGET`]'s note. On SQLite, which prepares a statement in a moment
/// and would only read the padding rows, `rows` as they are.
pub(crate) fn padded(rows: usize, backend: crate::Backend) -> usize {
    match backend {
        crate::Backend::Postgres => rows.next_power_of_two(),
        crate::Backend::Sqlite => rows,
    }
}

/// `rows` tuples of `cols` numbered placeholders each, numbered from `$first`:
/// `($3, $4), ($5, $6)` for `tuples(2, 2, 3)`.
pub(crate) fn tuples(rows: usize, cols: usize, first: usize) -> String {
    (0..rows)
        .map(|r| {
            let start = first + r * cols;
            let row: Vec<String> = (start..start + cols).map(|p| format!("${p}")).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `rows` cut, in order, into runs whose `size` (a row's bytes, roughly) adds up to at most the
/// budget; a row larger than it alone makes a run.
pub(crate) fn runs<T>(rows: &[T], size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut runs = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, row) in rows.iter().enumerate() {
        let n = size(row);
        if i > start && bytes + n > BUDGET {
            runs.push(&rows[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += n;
    }
    if start < rows.len() {
        runs.push(&rows[start..]);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::{BUDGET, runs, tuples};

    #[test]
    fn a_statement_is_padded_to_the_next_power_of_two_rows_on_postgresql_only() {
        let sizes = |b| [1, 2, 3, 5, 8, 9, 64].map(|n| super::padded(n, b));
        assert_eq!(sizes(crate::Backend::Postgres), [1, 2, 4, 8, 8, 16, 64]);
        assert_eq!(sizes(crate::Backend::Sqlite), [1, 2, 3, 5, 8, 9, 64]);
    }

    #[test]
    fn tuples_number_every_row_on_from_the_first_placeholder() {
        assert_eq!(tuples(2, 2, 3), "($3, $4), ($5, $6)");
        assert_eq!(tuples(1, 3, 1), "($1, $2, $3)");
    }

    #[test]
    fn rows_are_cut_into_runs_within_the_budget_in_order_and_a_large_row_goes_alone() {
        let rows = [BUDGET / 2, BUDGET / 2, 1, BUDGET * 2, 3];
        let cut: Vec<Vec<usize>> = runs(&rows, |n| *n).into_iter().map(<[usize]>::to_vec).collect();
        assert_eq!(
            cut,
            [vec![BUDGET / 2, BUDGET / 2], vec![1], vec![BUDGET * 2], vec![3]]
        );
        assert!(runs(&[] as &[usize], |n| *n).is_empty());
    }
}
