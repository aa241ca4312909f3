//! Barman's include/exclude rules for the files of a cloud backup (`barman/fs.py`:
//! `path_allowed`, `_match_path`, `_translate_to_regexp`): rsync-like anchoring with a
//! leading `/`, a trailing `/` for directories only, `*` (no `/`), `**` (anything) and `?`.
//! Everything else is literal — `[0-9]` included, as Python escapes it — so the rules
//! match exactly what Python's match.

/// PGDATA paths never copied (Barman's `PGDATA_EXCLUDE_LIST`).
pub const PGDATA_EXCLUDE: [&str; 5] = [
    "/pg_log/*",
    "/log/*",
    "/pg_xlog/*",
    "/pg_wal/*",
    "/global/pg_control",
];

/// Paths never copied anywhere (Barman's `EXCLUDE_LIST`, from PostgreSQL's basebackup.c).
pub const EXCLUDE: [&str; 16] = [
    "pgsql_tmp*",
    "postgresql.auto.conf.tmp",
    "current_logfiles.tmp",
    "pg_internal.init",
    "postmaster.pid",
    "postmaster.opts",
    "recovery.conf",
    "standby.signal",
    "**/[0-9]*/t[0-9]*_[0-9]*",
    "pg_dynshmem/*",
    "pg_notify/*",
    "pg_replslot/*",
    "pg_serial/*",
    "pg_stat_tmp/*",
    "pg_snapshots/*",
    "pg_subtrans/*",
];

/// Python's `path_allowed`: an include match accepts, else an exclude match rejects.
pub fn path_allowed(exclude: &[String], include: &[String], path: &str, is_dir: bool) -> bool {
    if matches_any(include, path, is_dir) {
        return true;
    }
    !matches_any(exclude, path, is_dir)
}

/// Python's `_match_path`.
fn matches_any(rules: &[String], path: &str, is_dir: bool) -> bool {
    rules.iter().any(|rule| {
        let mut rule = rule.as_str();
        if let Some(dir_rule) = rule.strip_suffix('/') {
            if !is_dir {
                return false;
            }
            rule = dir_rule;
        }
        let (rule, anchored) = match rule.strip_prefix('/') {
            Some(r) => (r, true),
            None => (rule, false),
        };
        wildcard(path.as_bytes(), rule.as_bytes())
            || (!anchored && wildcard(path.as_bytes(), format!("**/{rule}").as_bytes()))
    })
}

/// Whether the whole of `path` matches `pattern`.
fn wildcard(path: &[u8], pattern: &[u8]) -> bool {
    if pattern.starts_with(b"**") {
        let rest = &pattern[2..];
        return (0..=path.len()).any(|i| wildcard(&path[i..], rest));
    }
    match pattern.first() {
        None => path.is_empty(),
        Some(b'*') => {
            let rest = &pattern[1..];
            let limit = path.iter().position(|&c| c == b'/').unwrap_or(path.len());
            (0..=limit).any(|i| wildcard(&path[i..], rest))
        }
        Some(b'?') => !path.is_empty() && wildcard(&path[1..], &pattern[1..]),
        Some(&c) => path.first() == Some(&c) && wildcard(&path[1..], &pattern[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn path_rules_follow_barman() {
        let exclude = rules(&[
            "/pg_wal/*",
            "postmaster.pid",
            "pg_notify/*",
            "/global/pg_control",
        ]);
        assert!(!path_allowed(
            &exclude,
            &[],
            "pg_wal/000000010000000000000001",
            false
        ));
        assert!(path_allowed(&exclude, &[], "pg_wal", true));
        assert!(!path_allowed(&exclude, &[], "./postmaster.pid", false));
        assert!(!path_allowed(&exclude, &[], "global/pg_control", false));
        assert!(path_allowed(&exclude, &[], "base/1/pg_control", false));
        assert!(!path_allowed(&exclude, &[], "x/pg_notify/0000", false));
        // Python escapes `[`: the temporary-relation rule matches nothing real.
        let temp = rules(&["**/[0-9]*/t[0-9]*_[0-9]*"]);
        assert!(path_allowed(&temp, &[], "base/5/t3_16384", false));
        // A tablespace: only PG_<major>_* below its root.
        let (ex, inc) = (rules(&["/*"]), rules(&["/PG_15_*"]));
        assert!(path_allowed(&ex, &inc, "PG_15_202209061", true));
        assert!(!path_allowed(&ex, &inc, "PG_14_202107181", true));
        assert!(path_allowed(&ex, &inc, "PG_15_202209061/5", true));
        // The root itself is left out (its files too): Python walks on below it.
        assert!(!path_allowed(&ex, &inc, ".", true));
        assert!(
            !path_allowed(&rules(&["dir/"]), &[], "dir", true)
                && path_allowed(&rules(&["dir/"]), &[], "dir", false)
        );
        assert!(wildcard(b"a?c", b"a?c") && wildcard(b"abc", b"a?c") && !wildcard(b"a/c", b"a*c"));
    }
}
