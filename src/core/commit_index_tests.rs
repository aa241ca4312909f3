//! Unit tests of the commit-time index rules.

use super::*;

fn line(name: &str, span: Span) -> String {
    IndexLine {
        name: name.into(),
        span: span.map(|(count, first, last)| CommitSpan {
            count,
            first: (count > 0).then_some(first),
            last: (count > 0).then_some(last),
        }),
    }
    .to_line()
}

fn seg(tli: u32, n: u32) -> String {
    format!("{tli:08X}00000000{n:08X}")
}

#[test]
fn commit_index_line_round_trips() {
    for span in [
        Some(CommitSpan {
            count: 3,
            first: Some(123_456_789),
            last: Some(987_654_321_012),
        }),
        Some(CommitSpan::default()),
        None,
    ] {
        let l = IndexLine {
            name: seg(1, 5),
            span,
        };
        assert_eq!(IndexLine::parse(&l.to_line()), Some(l.clone()));
    }
    assert_eq!(
        line(&seg(1, 5), Some((2, 0, 1_000_000))),
        "000000010000000000000005 2000-01-01T00:00:00.000000Z 2000-01-01T00:00:01.000000Z 2\n"
    );
    assert_eq!(line(&seg(1, 6), None), "000000010000000000000006 unknown\n");
    assert_eq!(
        line(&seg(1, 7), Some((0, 0, 0))),
        "000000010000000000000007 - - 0\n"
    );
}

#[test]
fn commit_index_skips_torn_and_foreign_lines_and_keeps_the_last() {
    let text = format!(
        "{}{}garbage\n00000001.history - - 0\n{}{}",
        line(&seg(1, 1), Some((1, 5, 5))),
        line(&seg(1, 2), None),
        line(&seg(1, 2), Some((1, 7, 9))),
        &line(&seg(1, 3), Some((1, 5, 5)))[..40]
    );
    let index = CommitIndex::parse(&text);
    assert_eq!(index.len(), 2);
    assert_eq!(
        index.get(&seg(1, 2)).flatten().and_then(|s| s.last),
        Some(9)
    );
    assert_eq!(index.get(&seg(1, 3)), None);
    assert_eq!(
        IndexLine::parse("000000010000000000000001 - 2000-01-01T00:00:00Z 1"),
        None
    );
}

/// (count, first, last) of one segment.
type Span = Option<(u64, i64, i64)>;

fn index(lines: &[(u32, u32, Span)]) -> CommitIndex {
    CommitIndex::parse(
        &lines
            .iter()
            .map(|(t, n, s)| line(&seg(*t, *n), *s))
            .collect::<String>(),
    )
}

#[test]
fn commit_index_cuts_after_the_first_segment_past_the_target() {
    let names: Vec<String> = vec![
        "00000001.history".into(),
        seg(1, 1),
        seg(1, 2),
        seg(1, 3),
        seg(1, 4),
        seg(1, 5),
    ];
    let idx = index(&[
        (1, 1, Some((1, 10, 10))),
        (1, 2, Some((1, 50, 50))),
        (1, 3, Some((2, 20, 40))),
        (1, 4, Some((2, 30, 60))),
        (1, 5, Some((1, 70, 70))),
    ]);
    // Segment 4 holds the first end after 45; 5 is not read. The end WAL (2) is kept even
    // though it is past the target.
    assert_eq!(
        plan_time_cut(&names, &seg(1, 2), 45, &idx),
        TimeCut::After {
            last: seg(1, 4),
            skipped: vec![seg(1, 5)]
        }
    );
    // A commit exactly at the target does not stop an inclusive recovery: keep going.
    assert_eq!(
        plan_time_cut(&names, &seg(1, 2), 60, &idx),
        TimeCut::After {
            last: seg(1, 5),
            skipped: vec![]
        }
    );
    assert!(matches!(
        plan_time_cut(&names, &seg(1, 2), 70, &idx),
        TimeCut::All(_)
    ));
}

#[test]
fn commit_index_unknown_segments_only_move_the_cut_later() {
    let names: Vec<String> = (1..=5).map(|n| seg(1, n)).collect();
    let idx = index(&[
        (1, 2, None),
        (1, 3, Some((1, 99, 99))),
        (1, 4, Some((1, 99, 99))),
    ]);
    // 2 is unknown (it may hold the stop record: it is kept anyway), 3 decides.
    assert_eq!(
        plan_time_cut(&names, &seg(1, 1), 50, &idx),
        TimeCut::After {
            last: seg(1, 3),
            skipped: vec![seg(1, 4), seg(1, 5)]
        }
    );
    assert!(matches!(
        plan_time_cut(&names, &seg(1, 1), 50, &CommitIndex::default()),
        TimeCut::All(_)
    ));
}

#[test]
fn commit_index_does_not_cut_across_a_timeline_switch() {
    let names = vec![seg(1, 1), seg(1, 2), seg(2, 2), seg(2, 3)];
    let idx = index(&[(1, 2, Some((1, 99, 99))), (2, 3, Some((1, 99, 99)))]);
    assert!(matches!(
        plan_time_cut(&names, &seg(1, 1), 50, &idx),
        TimeCut::All(_)
    ));
    assert!(matches!(
        plan_time_cut(&names, "", 50, &idx),
        TimeCut::All(_)
    ));
}

#[test]
fn commit_index_estimates_and_finds_the_latest_commit() {
    let names = vec!["00000002.history".into(), seg(1, 1), seg(1, 2), seg(1, 3)];
    let idx = index(&[
        (1, 1, Some((2, 1_000_000, 2_000_000))),
        (1, 2, Some((0, 0, 0))),
        (2, 9, Some((1, 9_000_000, 9_000_000))),
    ]);
    let e = estimate(&names, 16 << 20, &idx);
    assert_eq!(
        e,
        ReplayEstimate {
            segments: 3,
            bytes: 48 << 20,
            unindexed: 1,
            span: CommitSpan {
                count: 2,
                first: Some(1_000_000),
                last: Some(2_000_000)
            }
        }
    );
    assert_eq!(
        e.describe(),
        "3 WAL segments (48.0 MiB), 2 transactions ending from 2000-01-01 00:00:01.000 UTC to 2000-01-01 00:00:02.000 UTC (1 segments not indexed)"
    );
    assert_eq!(latest_commit(&idx, 1, &seg(1, 1)), Some(2_000_000));
    assert_eq!(latest_commit(&idx, 1, &seg(1, 2)), None);
    assert_eq!(latest_commit(&idx, 2, &seg(1, 1)), Some(9_000_000));
    let t = pg_time(9_000_000).unwrap();
    assert_eq!(to_pg_time(&t), 9_000_000);
    assert_eq!(pg_time(i64::MAX), None);
}
