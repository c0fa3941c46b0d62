//! Whether two histograms (or two error ratios) differ by more than chance: Pearson's
//! chi-squared test of homogeneity on the bucket counts, its p-value from the chi-squared
//! distribution (statrs' regularized incomplete gamma). Checked against scipy's
//! `chi2_contingency(correction=False)` by `tests/tests/diff.rs`.

/// The chi-squared test of homogeneity of two rows of counts (buckets, or ok/error): the
/// statistic, its degrees of freedom and p-value. Columns empty in both rows are left out;
/// `None` when fewer than two columns remain or a row is empty (nothing to compare).
pub fn chi_squared(a: &[f64], b: &[f64]) -> Option<Test> {
    let columns: Vec<(f64, f64)> =
        a.iter().zip(b).map(|(&x, &y)| (x, y)).filter(|&(x, y)| x + y > 0.0).collect();
    let (rows_a, rows_b): (f64, f64) = columns.iter().fold((0.0, 0.0), |(s, t), &(x, y)| (s + x, t + y));
    if columns.len() < 2 || rows_a == 0.0 || rows_b == 0.0 {
        return None;
    }
    let total = rows_a + rows_b;
    let statistic: f64 = columns
        .iter()
        .map(|&(x, y)| {
            let column = x + y;
            let (expected_a, expected_b) = (rows_a * column / total, rows_b * column / total);
            (x - expected_a).powi(2) / expected_a + (y - expected_b).powi(2) / expected_b
        })
        .sum();
    let dof = (columns.len() - 1) as f64;
    // P(X ≥ statistic) for X ~ χ²(dof) = Q(dof/2, statistic/2).
    let p =
        if statistic <= 0.0 { 1.0 } else { statrs::function::gamma::gamma_ur(dof / 2.0, statistic / 2.0) };
    Some(Test { statistic, dof: columns.len() - 1, p })
}

/// A test's outcome.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Test {
    pub statistic: f64,
    pub dof: usize,
    /// The chance of a difference at least this large if both came from one distribution.
    pub p: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_cases() {
        // Identical proportions: no evidence at all.
        let same = chi_squared(&[10.0, 20.0, 30.0], &[20.0, 40.0, 60.0]).unwrap();
        assert!(same.statistic.abs() < 1e-12 && (same.p - 1.0).abs() < 1e-12);
        // 2×2 with a known answer: χ² = 4.0 on 1 dof, p = 0.0455.
        let t = chi_squared(&[30.0, 20.0], &[20.0, 30.0]).unwrap();
        assert_eq!(t.dof, 1);
        assert!((t.statistic - 4.0).abs() < 1e-9, "{t:?}");
        assert!((t.p - 0.045_500_263_896_358_4).abs() < 1e-9, "{t:?}");
        // Nothing to compare.
        assert_eq!(chi_squared(&[5.0, 0.0], &[7.0, 0.0]), None);
        assert_eq!(chi_squared(&[0.0, 0.0], &[7.0, 1.0]), None);
    }
}
