//! Unit tests of the backup WAL rules.

use super::*;

fn entry(name: &str, size: u64, time: f64) -> XlogDbEntry {
    XlogDbEntry {
        name: name.into(),
        size,
        time,
        compression: None,
        encryption: None,
    }
}

const B: &str = "000000010000000000000003";
const E: &str = "000000010000000000000004";

#[test]
fn until_next_step_table() {
    let next = Some("000000010000000000000006");
    let cases = [
        ("00000002.history", false, Step::Skip),
        ("00000002.history", true, Step::Take),
        ("000000010000000000000002", true, Step::Skip),
        ("000000010000000000000003", true, Step::Take),
        ("000000010000000000000003.00000028.backup", true, Step::Skip),
        ("000000010000000000000005.partial", true, Step::Skip),
        ("000000020000000000000005", true, Step::Skip),
        ("000000010000000000000006", true, Step::Take),
        ("000000010000000000000007", true, Step::Stop),
    ];
    for (name, history, expected) in cases {
        assert_eq!(
            until_next_step(name, B, next, history),
            Ok(expected),
            "{name}"
        );
    }
    assert_eq!(
        until_next_step("000000010000000000000009", B, None, false),
        Ok(Step::Take)
    );
    assert!(until_next_step("junk", B, None, false).is_err());
}

#[test]
fn wal_info_counts_and_ratios_like_barman() {
    let mut info = WalInfo::default();
    for (name, size, time) in [
        (B, 8 << 20, 100.0),
        (E, 8 << 20, 110.0),
        ("000000010000000000000005", 4 << 20, 136.0),
    ] {
        info.add(&entry(name, size, time), B, E);
    }
    info.finish(16 << 20);
    assert_eq!((info.wal_num, info.wal_size), (2, 16 << 20));
    assert_eq!((info.until_next_num, info.until_next_size), (1, 4 << 20));
    assert_eq!(info.wals_per_second, 3.0 / 36.0);
    assert_eq!(info.wal_compression_ratio, 0.5);
    assert_eq!(info.until_next_compression_ratio, 0.75);
    assert_eq!(info.last_name(), Some("000000010000000000000005"));
    let mut missing_begin = WalInfo::default();
    missing_begin.add(&entry(E, 1, 1.0), B, E);
    missing_begin.finish(16 << 20);
    assert_eq!(missing_begin.wal_compression_ratio, 0.0);
}

#[test]
fn check_backup_decisions() {
    let size = WalSegmentSize::DEFAULT;
    let required = required_segments(B, "000000010000000000000006", Some(150000), size);
    assert_eq!(required.len(), 4);
    let all = |_: &str| true;
    let end = "000000010000000000000006";
    assert_eq!(
        check_backup(B, end, None, &required, all),
        CheckOutcome::WaitingForWals
    );
    assert_eq!(
        check_backup(B, end, Some("000000010000000000000002"), &required, all),
        CheckOutcome::WaitingForWals
    );
    assert_eq!(
        check_backup(B, end, Some(E), &required, all),
        CheckOutcome::WaitingForWals
    );
    assert_eq!(
        check_backup(B, end, Some("000000010000000000000009"), &required, all),
        CheckOutcome::Done
    );
    let missing = |w: &str| w != "000000010000000000000005";
    assert_eq!(
        check_backup(B, end, Some(end), &required, missing),
        CheckOutcome::Failed(
            "At least one WAL file is missing. The first missing WAL file is 000000010000000000000005"
                .into()
        )
    );
    // The missing segment is not reached yet: keep waiting.
    assert_eq!(
        check_backup(B, end, Some(E), &required, missing),
        CheckOutcome::WaitingForWals
    );
    assert_eq!(
        check_backup(B, "000000020000000000000006", Some(E), &required, all),
        CheckOutcome::Failed("Backups spanning multiple timelines are not supported. The backup starts in timeline 00000001 and ends in timeline 00000002.".into())
    );
}

#[test]
fn required_segments_skip_ff_before_9_3() {
    let size = WalSegmentSize::DEFAULT;
    let old = required_segments(
        "0000000100000000000000FE",
        "000000010000000100000000",
        Some(90200),
        size,
    );
    assert_eq!(
        old,
        ["0000000100000000000000FE", "000000010000000100000000"]
    );
    let new = required_segments(
        "0000000100000000000000FE",
        "000000010000000100000000",
        Some(90300),
        size,
    );
    assert_eq!(new.len(), 3);
}

fn range(id: &str, keep: Option<KeepTarget>) -> BackupWalRange {
    BackupWalRange {
        id: id.into(),
        begin_wal: Some(format!("{id}-b")),
        end_wal: Some(format!("{id}-e")),
        keep,
    }
}

#[test]
fn should_remove_wals_rules() {
    assert_eq!(should_remove_wals(&[], true), (true, vec![]));
    assert_eq!(
        should_remove_wals(&[range("a", None)], false),
        (false, vec![])
    );
    assert_eq!(
        should_remove_wals(&[range("a", Some(KeepTarget::Full))], false),
        (false, vec![])
    );
    let standalone = [
        range("b", Some(KeepTarget::Standalone)),
        range("a", Some(KeepTarget::Standalone)),
    ];
    assert_eq!(should_remove_wals(&standalone, true), (false, vec![]));
    assert_eq!(
        should_remove_wals(&standalone, false),
        (
            true,
            vec![("b-b".into(), "b-e".into()), ("a-b".into(), "a-e".into())]
        )
    );
}

#[test]
fn wal_protection_keeps_history_timelines_ranges_and_newer() {
    let protection = WalProtection {
        keep_from: Some("000000010000000000000010".into()),
        timelines: [2].into_iter().collect(),
        ranges: vec![(
            "000000010000000000000004".into(),
            "000000010000000000000005".into(),
        )],
    };
    for (name, kept) in [
        ("00000001.history", true),
        ("000000020000000000000001", true),
        ("000000010000000000000003", false),
        ("000000010000000000000004", true),
        ("000000010000000000000005.00000028.backup", true),
        ("000000010000000000000006", false),
        ("000000010000000000000010", true),
    ] {
        assert_eq!(protection.keeps(name), kept, "{name}");
    }
    assert!(!WalProtection::default().keeps("000000010000000000000010"));
}
