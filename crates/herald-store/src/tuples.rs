//! Placeholders for a multi-row `VALUES` list, so a batch is one statement whatever its size.

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

#[cfg(test)]
mod tests {
    use super::tuples;

    #[test]
    fn tuples_number_every_row_on_from_the_first_placeholder() {
        assert_eq!(tuples(2, 2, 3), "($3, $4), ($5, $6)");
        assert_eq!(tuples(1, 3, 1), "($1, $2, $3)");
    }
}
