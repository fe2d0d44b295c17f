//! Hand-written glob matching for [`PathRules`](super::PathRules).

/// Whether `path` matches the glob `pattern` (syntax in the [module docs](super)).
///
/// Empty segments (a leading `/`, `//`) are ignored on both sides, and a `\` in the path is
/// taken as a separator, so Windows-style paths match too.
///
/// ```
/// use itsm_audit::trace::glob_match;
/// assert!(glob_match("config/**", "config/prod/app.toml"));
/// assert!(glob_match("**/*.tf", "main.tf"));
/// assert!(!glob_match("*.tf", "modules/main.tf"));
/// ```
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
    // matches[j] = whether pat[i..] matches segs[j..], computed from the last pattern
    // segment backwards (O(pattern segments x path segments)).
    let mut next = vec![false; segs.len() + 1];
    next[segs.len()] = true;
    for p in pat.iter().rev() {
        let mut cur = vec![false; segs.len() + 1];
        for j in (0..=segs.len()).rev() {
            cur[j] = if *p == "**" {
                next[j] || (j < segs.len() && cur[j + 1])
            } else {
                j < segs.len() && next[j + 1] && segment_match(p, segs[j])
            };
        }
        next = cur;
    }
    next[0]
}

/// Matches one path segment against one pattern segment (`*` and `?` wildcards).
fn segment_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_within_a_segment() {
        assert!(glob_match("*.tf", "main.tf"));
        assert!(!glob_match("*.tf", "modules/main.tf"));
        assert!(glob_match("config/*", "config/app.toml"));
        assert!(!glob_match("config/*", "config/prod/app.toml"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("*", "two/segments"));
    }

    #[test]
    fn double_star_spans_any_number_of_segments() {
        assert!(glob_match("**/*.tf", "main.tf"));
        assert!(glob_match("**/*.tf", "a/b/c/main.tf"));
        assert!(glob_match("config/**", "config/a/b.toml"));
        assert!(glob_match("config/**", "config"));
        assert!(!glob_match("config/**", "configs/a"));
        assert!(glob_match("a/**/z", "a/z"));
        assert!(glob_match("a/**/z", "a/b/c/z"));
        assert!(!glob_match("a/**/z", "a/b/c/y"));
        assert!(glob_match("**", ""));
        assert!(glob_match("**/**/x", "x"));
    }

    #[test]
    fn question_mark_is_one_character_and_literals_are_exact() {
        assert!(glob_match("v?.txt", "v1.txt"));
        assert!(!glob_match("v?.txt", "v10.txt"));
        assert!(!glob_match("v?.txt", "v/.txt"));
        assert!(glob_match("données/é?.csv", "données/éx.csv"));
        assert!(!glob_match("Config/**", "config/a"));
        assert!(!glob_match("", "a"));
        assert!(glob_match("/config//*.toml", "config/app.toml"));
        assert!(glob_match("k8s/**", "k8s\\deploy.yaml"));
    }

    #[test]
    fn pathological_patterns_finish_quickly() {
        let pattern = "**/".repeat(30) + &"*a".repeat(30) + "b";
        let path = "x/".repeat(30) + &"a".repeat(200);
        assert!(!glob_match(&pattern, &path));
    }
}
