use super::*;
use crate::core::timeline::parse_history;
use crate::core::wal_checksums::Origin;

const MIB: u64 = 1 << 20;

fn seg(name: &str) -> WalSegmentName {
    name.parse().unwrap()
}

fn geometry(mib: u64, skip_last: bool) -> Geometry {
    Geometry {
        size: WalSegmentSize::new(mib * MIB).unwrap(),
        skip_last,
    }
}

fn backup(id: &str, begin: &str, lsn: Option<&str>) -> BackupStart {
    BackupStart {
        id: id.into(),
        begin_wal: seg(begin),
        begin_lsn: lsn.map(|l| l.parse().unwrap()),
        standalone_end: None,
    }
}

fn present(names: &[&str]) -> BTreeSet<WalSegmentName> {
    names.iter().map(|n| seg(n)).collect()
}

fn recorded(sha: &str) -> ChecksumEntry {
    ChecksumEntry {
        name: "000000010000000000000003".into(),
        sha256: sha.into(),
        plain_size: MIB,
        origin: Origin::Archived,
    }
}

#[test]
fn judge_compares_checksum_then_segment_size() {
    let name: WalFileName = "000000010000000000000003".parse().unwrap();
    let size = Some(WalSegmentSize::new(MIB).unwrap());
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    assert_eq!(
        judge(&name, &a, MIB, Some(&recorded(&a)), size),
        Verdict::Good
    );
    assert_eq!(judge(&name, &a, MIB, None, size), Verdict::FirstSeen);
    assert_eq!(
        judge(&name, &b, MIB, Some(&recorded(&a)), size),
        Verdict::Mismatch {
            recorded: a.clone(),
            actual: b
        }
    );
    assert_eq!(
        judge(&name, &a, MIB - 8192, None, size),
        Verdict::WrongSize {
            size: MIB - 8192,
            expected: MIB
        }
    );
    // Without a known segment size, only the checksum is judged.
    assert_eq!(judge(&name, &a, 17, None, None), Verdict::FirstSeen);
    // History files and backup labels have no fixed size.
    let history: WalFileName = "00000002.history".parse().unwrap();
    assert_eq!(judge(&history, &a, 40, None, size), Verdict::FirstSeen);
}

fn histories(files: &[(u32, &str)]) -> BTreeMap<u32, History> {
    files
        .iter()
        .map(|(tli, text)| {
            let history = match parse_history(text) {
                Ok(entries) => History::Read(entries),
                Err(e) => History::Unreadable(e.to_string()),
            };
            (*tli, history)
        })
        .collect()
}

#[test]
fn timelines_consistent_chain_has_no_fault() {
    let h = histories(&[
        (2, "1\t0/3000000\tno recovery target specified\n"),
        (3, "1\t0/3000000\tx\n2\t0/5000000\ty\n"),
    ]);
    assert!(timeline_faults(&h, &[1, 2, 3].into()).is_empty());
    // An encrypted parent cannot be compared; an encrypted history is only present.
    let mut h = h;
    h.insert(2, History::Encrypted);
    h.insert(4, History::Encrypted);
    assert!(timeline_faults(&h, &[1, 2, 3, 4].into()).is_empty());
}

#[test]
fn timelines_missing_history_and_broken_parents_are_named() {
    // Timeline 2 has WAL but no history; 4 names a parent (3) whose file is missing.
    let h = histories(&[(4, "1\t0/3000000\tx\n3\t0/5000000\ty\n")]);
    let faults = timeline_faults(&h, &[1, 2, 4].into());
    assert_eq!(
        faults,
        vec![
            TimelineFault {
                tli: 2,
                problem: "has WAL but no history file 00000002.history".into()
            },
            TimelineFault {
                tli: 4,
                problem: "parent timeline 3 has no history file 00000003.history".into()
            },
        ]
    );
}

#[test]
fn timelines_disagreeing_going_back_or_unreadable_are_faults() {
    let h = histories(&[
        (2, "1\t0/3000000\tx\n"),
        // Its parent 2 branched at 0/3000000, not 0/4000000.
        (3, "1\t0/4000000\tx\n2\t0/5000000\ty\n"),
        // Switch point goes back.
        (5, "1\t0/3000000\tx\n2\t0/2000000\ty\n"),
        (6, "6\t0/3000000\tx\n"),
        (7, "not a history\n"),
        (8, "# only a comment\n"),
    ]);
    let problems: Vec<(u32, String)> = timeline_faults(&h, &BTreeSet::new())
        .into_iter()
        .map(|f| (f.tli, f.problem))
        .collect();
    assert_eq!(
        problems,
        vec![
            (
                3,
                "history does not agree with its parent timeline 2's".to_string()
            ),
            (
                5,
                "history goes back from timeline 1 at 0/3000000 to timeline 2 at 0/2000000"
                    .to_string()
            ),
            (6, "parent timeline 6 is not below 6".to_string()),
            (
                7,
                "history file cannot be read: invalid timeline 'not a history'".to_string()
            ),
            (8, "history file names no parent timeline".to_string()),
        ]
    );
}

#[test]
fn gaps_none_when_every_segment_is_there() {
    let p = present(&[
        "000000010000000000000002",
        "000000010000000000000003",
        "000000010000000000000004",
    ]);
    let b = [backup("B", "000000010000000000000002", None)];
    assert!(gaps(&b, &p, &BTreeMap::new(), geometry(16, false)).is_empty());
}

#[test]
fn gaps_report_runs_once_with_the_backups_needing_them() {
    let p = present(&[
        "000000010000000000000002",
        "000000010000000000000005",
        "000000010000000000000007",
        // Another timeline does not end timeline 1's range.
        "000000020000000000000009",
    ]);
    let b = [
        backup("A", "000000010000000000000002", None),
        backup("B", "000000010000000000000004", None),
    ];
    let found = gaps(&b, &p, &BTreeMap::new(), geometry(16, false));
    assert_eq!(
        found,
        vec![
            Gap {
                first: seg("000000010000000000000003"),
                last: seg("000000010000000000000004"),
                count: 2,
                backups: vec!["A".into(), "B".into()],
            },
            Gap {
                first: seg("000000010000000000000006"),
                last: seg("000000010000000000000006"),
                count: 1,
                backups: vec!["A".into(), "B".into()],
            },
        ]
    );
    // A backup kept standalone needs only begin_wal..end_wal.
    let mut kept = backup("K", "000000010000000000000001", None);
    kept.standalone_end = Some(seg("000000010000000000000002"));
    let found = gaps(&[kept.clone()], &p, &BTreeMap::new(), geometry(16, false));
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].first, found[0].count),
        (seg("000000010000000000000001"), 1)
    );
    // Each run names the backups needing any of its segments.
    let found = gaps(
        &[kept, b[1].clone()],
        &p,
        &BTreeMap::new(),
        geometry(16, false),
    );
    let runs: Vec<(String, u64, Vec<String>)> = found
        .iter()
        .map(|g| (g.first.to_string(), g.count, g.backups.clone()))
        .collect();
    assert_eq!(
        runs,
        vec![
            ("000000010000000000000001".into(), 1, vec!["K".into()]),
            ("000000010000000000000004".into(), 1, vec!["B".into()]),
            ("000000010000000000000006".into(), 1, vec!["B".into()]),
        ]
    );
    // A backup whose first segment is gone, with nothing after it.
    let lone = [backup("C", "000000010000000000000010", None)];
    assert_eq!(
        gaps(&lone, &p, &BTreeMap::new(), geometry(16, false))[0].count,
        1
    );
}

#[test]
fn gaps_follow_segment_size_and_old_majors_skipping_ff() {
    // 16 MiB before 9.3: …FE is followed by the next log's 00.
    let p = present(&["0000000100000000000000FE", "000000010000000100000000"]);
    let b = [backup("A", "0000000100000000000000FE", None)];
    assert!(gaps(&b, &p, &BTreeMap::new(), geometry(16, true)).is_empty());
    let found = gaps(&b, &p, &BTreeMap::new(), geometry(16, false));
    assert_eq!(found[0].first, seg("0000000100000000000000FF"));
    // 1 GiB segments: a log holds 00..03.
    let p = present(&["000000010000000000000003", "000000010000000100000000"]);
    let b = [backup("A", "000000010000000000000003", None)];
    assert!(gaps(&b, &p, &BTreeMap::new(), geometry(1024, false)).is_empty());
}

#[test]
fn gaps_follow_timelines_branched_after_the_backup() {
    // Timeline 2 begins at 0/5000028 (segment …05 on timeline 2).
    let h: BTreeMap<u32, Vec<HistoryEntry>> =
        [(2, parse_history("1\t0/5000028\tx\n").unwrap())].into();
    let p = present(&[
        "000000010000000000000003",
        "000000010000000000000004",
        "000000010000000000000005",
        "000000020000000000000005",
        "000000020000000000000007",
    ]);
    let before = [backup("A", "000000010000000000000003", Some("0/3000028"))];
    let found = gaps(&before, &p, &h, geometry(16, false));
    assert_eq!(
        found,
        vec![Gap {
            first: seg("000000020000000000000006"),
            last: seg("000000020000000000000006"),
            count: 1,
            backups: vec!["A".into()],
        }]
    );
    // A timeline that branched but has no WAL yet needs nothing.
    let fresh: BTreeMap<u32, Vec<HistoryEntry>> =
        [(3, parse_history("1\t0/5000028\tx\n").unwrap())].into();
    let p1 = present(&["000000010000000000000003", "000000010000000000000004"]);
    assert!(gaps(&before, &p1, &fresh, geometry(16, false)).is_empty());
    // A backup after the branch point on timeline 1 does not need timeline 2.
    let after = [backup("B", "000000010000000000000005", Some("0/5000100"))];
    assert!(gaps(&after, &p, &h, geometry(16, false)).is_empty());
}
