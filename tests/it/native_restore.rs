//! The native parallel copy of a local restore (no rsync) gives exactly the tree the rsync
//! copy gives: one backup of a cluster with two tablespaces, restored once with rsync
//! (forced by `BARMAN_TEST_RESTORE_COPY=rsync`, a knob read only by the restore's copy)
//! and once natively, one tablespace relocated outside the data directory and one inside
//! it; the trees are compared entry by entry, then the native copy starts and holds its
//! rows.

use crate::harness::pg_cluster::pg_available;
use crate::harness::{BarmanHome, PgCluster, Run};
use crate::require;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What the comparison reads of one entry.
#[derive(Debug, PartialEq, Eq)]
struct Item {
    kind: &'static str,
    mode: u32,
    owner: (u32, u32),
    size: u64,
    mtime: (i64, i64),
    content: Vec<u8>,
    link: Option<String>,
}

/// Every entry under `root` (symlinks not followed), link targets with `root_text`
/// replaced by `<ROOT>` (the two restores live in different folders).
fn tree(root: &Path, root_text: &str) -> BTreeMap<PathBuf, Item> {
    let mut items = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let kind = if meta.is_symlink() {
            "link"
        } else if meta.is_dir() {
            for e in std::fs::read_dir(&path).unwrap() {
                stack.push(e.unwrap().path());
            }
            "dir"
        } else {
            "file"
        };
        let link = meta.is_symlink().then(|| {
            let target = std::fs::read_link(&path).unwrap();
            target.display().to_string().replace(root_text, "<ROOT>")
        });
        let content = if kind == "file" {
            std::fs::read(&path).unwrap()
        } else {
            Vec::new()
        };
        let item = Item {
            kind,
            mode: meta.mode() & 0o7777,
            owner: (meta.uid(), meta.gid()),
            size: if kind == "file" { meta.len() } else { 0 },
            mtime: (meta.mtime(), meta.mtime_nsec()),
            content,
            link,
        };
        items.insert(path.strip_prefix(root).unwrap().to_path_buf(), item);
    }
    items
}

/// A wrapper `rsync` that notes each call in `calls` and runs the real one.
fn rsync_spy(dir: &Path) -> (String, PathBuf) {
    let bin = dir.join("spy-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("rsync-calls");
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v rsync"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    assert!(!real.is_empty(), "rsync is installed");
    let script = bin.join("rsync");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real}' \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["755", script.to_str().unwrap()])
        .status()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    (path, calls)
}

fn restore(home: &BarmanHome, id: &str, name: &str, force_rsync: bool) -> (PathBuf, Run) {
    let dest = home.dir().join(name);
    let outside = format!("tbs1:{}", home.dir().join(format!("{name}-tbs1")).display());
    let inside = format!("tbs2:{}", dest.join("tbs_inside").display());
    let (path, _) = rsync_spy(home.dir());
    let mut cmd = home.barman();
    cmd.env("PATH", path);
    if force_rsync {
        cmd.env("BARMAN_TEST_RESTORE_COPY", "rsync");
    }
    cmd.args(["restore", "pg", id, dest.to_str().unwrap(), "-j", "2"])
        .args(["--tablespace", &outside, "--tablespace", &inside]);
    let run = Run::of(&mut cmd);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    (dest, run)
}

/// Files and folders the restore writes after the copy (WAL, recovery settings, the
/// recovery info, tablespace links, the write probe in each tablespace folder): their
/// times are those of each run.
fn written_after_copy(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.is_empty()
        || text == "tbs_inside"
        || text.starts_with("pg_wal")
        || text.starts_with("pg_tblspc")
        || [
            ".barman-recover.info",
            "postgresql.auto.conf",
            "postgresql.conf",
        ]
        .contains(&text.as_ref())
}

fn assert_same_trees(a: &Path, b: &Path, after_copy: bool) {
    let (a_text, b_text) = (a.display().to_string(), b.display().to_string());
    let (mut ta, mut tb) = (tree(a, &a_text), tree(b, &b_text));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "same paths"
    );
    for (path, ia) in ta.iter_mut() {
        let ib = tb.get_mut(path).unwrap();
        if after_copy && written_after_copy(path) {
            (ia.mtime, ib.mtime) = ((0, 0), (0, 0));
        }
        assert_eq!(ia, ib, "{}", path.display());
    }
}

#[test]
fn native_restore_copy_gives_the_tree_rsync_gives() {
    require!("PostgreSQL 15", pg_available());
    let home = BarmanHome::new();
    let command = crate::harness::incoming_archive_command(&home);
    let pg = crate::harness::archiving_cluster(&command);
    pg.create_tablespace("tbs1");
    pg.create_tablespace("tbs2");
    pg.execute("CREATE TABLE one (n int) TABLESPACE tbs1");
    pg.execute("CREATE TABLE two (n int) TABLESPACE tbs2");
    pg.execute("INSERT INTO one SELECT g FROM generate_series(1, 5000) g");
    pg.execute("INSERT INTO two SELECT g FROM generate_series(1, 7000) g");
    home.write_config(
        "",
        &[(
            "pg",
            &format!(
                "conninfo = {}\nbackup_method = local-rsync\narchiver = on\nimmediate_checkpoint = true\n",
                pg.conninfo()
            ),
        )],
    );
    let run = home.run(&["backup", "pg"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let id = home.run(&["list-backups", "pg", "--minimal"]).stdout;
    let id = id.lines().next().expect("a backup").to_string();

    let (by_rsync, _) = restore(&home, &id, "by-rsync", true);
    let calls = home.dir().join("rsync-calls");
    let rsync_calls = std::fs::read_to_string(&calls).unwrap_or_default();
    assert!(rsync_calls.contains("-rLKpts"), "{rsync_calls}");
    std::fs::remove_file(&calls).unwrap();
    let (native, run) = restore(&home, &id, "native", false);
    let native_calls = std::fs::read_to_string(&calls).unwrap_or_default();
    assert_eq!(native_calls, "", "the native copy runs no rsync");
    assert!(
        run.stdout.contains("Copying the base backup."),
        "{}",
        run.stdout
    );

    assert_same_trees(&by_rsync, &native, true);
    assert_same_trees(
        &home.dir().join("by-rsync-tbs1"),
        &home.dir().join("native-tbs1"),
        true,
    );
    assert!(native.join("tbs_inside").is_dir());

    let mut restored = PgCluster::start_in_place(&native, &[]);
    assert_eq!(restored.query_scalar("SELECT count(*) FROM one"), "5000");
    assert_eq!(restored.query_scalar("SELECT count(*) FROM two"), "7000");
    restored.stop();

    // A backup file gone bad (a dangling link, followed as rsync -L does) fails the
    // restore with one line, and no success is reported.
    let data = home.dir().join("home/pg/base").join(&id).join("data");
    std::os::unix::fs::symlink(home.dir().join("nowhere"), data.join("broken")).unwrap();
    let dest = home.dir().join("broken");
    let outside = format!("tbs1:{}", home.dir().join("broken-tbs1").display());
    let inside = format!("tbs2:{}", dest.join("tbs_inside").display());
    let run = home.run(&[
        "restore",
        "pg",
        &id,
        dest.to_str().unwrap(),
        "--tablespace",
        &outside,
        "--tablespace",
        &inside,
    ]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let line = format!(
        "ERROR: Failure copying base backup: data transfer failure: cannot read '{}': No such file or directory (os error 2)",
        data.join("broken").display()
    );
    assert!(run.stderr.contains(&line), "{}\n{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("successfully prepared"),
        "{}",
        run.stdout
    );
}
