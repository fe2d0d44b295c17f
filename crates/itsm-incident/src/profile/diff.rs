//! A line diff of two profiles' canonical TOML renderings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One line of a [`ProfileDiff`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op", content = "line")]
pub enum DiffLine {
    /// In both profiles.
    Same(String),
    /// Only in the old profile.
    Removed(String),
    /// Only in the new profile.
    Added(String),
}

/// What changed between two alerting profiles: a line diff of their canonical TOML
/// (see [`AlertingProfile::to_toml`](super::AlertingProfile::to_toml)).
///
/// `Display` prints it like a unified diff: a `---`/`+++` header naming both profiles and
/// their versions, then every line prefixed with ` `, `-` or `+`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileDiff {
    /// The old profile, as `name vN`.
    pub from: String,
    /// The new profile, as `name vN`.
    pub to: String,
    /// Every line of both renderings, in order.
    pub lines: Vec<DiffLine>,
}

impl ProfileDiff {
    /// Diffs two renderings line by line (longest common subsequence).
    pub(crate) fn of(from: String, to: String, old: &str, new: &str) -> Self {
        let a: Vec<&str> = old.lines().collect();
        let b: Vec<&str> = new.lines().collect();
        // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
        let mut lcs = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i][j] = if a[i] == b[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        let mut lines = Vec::with_capacity(a.len().max(b.len()));
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                lines.push(DiffLine::Same(a[i].to_owned()));
                i += 1;
                j += 1;
            } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
                lines.push(DiffLine::Removed(a[i].to_owned()));
                i += 1;
            } else {
                lines.push(DiffLine::Added(b[j].to_owned()));
                j += 1;
            }
        }
        ProfileDiff { from, to, lines }
    }

    /// Whether both profiles render the same.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| matches!(l, DiffLine::Same(_)))
    }

    /// Only the removed and added lines.
    pub fn changes(&self) -> impl Iterator<Item = &DiffLine> + '_ {
        self.lines
            .iter()
            .filter(|l| !matches!(l, DiffLine::Same(_)))
    }
}

impl fmt::Display for ProfileDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "--- {}", self.from)?;
        writeln!(f, "+++ {}", self.to)?;
        for line in &self.lines {
            match line {
                DiffLine::Same(l) => writeln!(f, " {l}")?,
                DiffLine::Removed(l) => writeln!(f, "-{l}")?,
                DiffLine::Added(l) => writeln!(f, "+{l}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept_removed_or_added_in_order() {
        let diff = ProfileDiff::of("a v1".into(), "a v2".into(), "x\ny\nz\n", "x\nq\nz\nw\n");
        assert_eq!(
            diff.lines,
            vec![
                DiffLine::Same("x".into()),
                DiffLine::Removed("y".into()),
                DiffLine::Added("q".into()),
                DiffLine::Same("z".into()),
                DiffLine::Added("w".into()),
            ]
        );
        assert!(!diff.is_empty());
        assert_eq!(diff.changes().count(), 3);
        assert_eq!(diff.to_string(), "--- a v1\n+++ a v2\n x\n-y\n+q\n z\n+w\n");
        assert!(ProfileDiff::of("a".into(), "a".into(), "x\n", "x\n").is_empty());
    }
}
