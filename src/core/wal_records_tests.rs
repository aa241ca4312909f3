//! Unit tests of the WAL record reader, on segments written here the way PostgreSQL lays
//! them out (the integration tests read real PostgreSQL WAL).

use super::*;
use proptest::prelude::*;

const PAGE: usize = 8192;
const PG16: u16 = 0xD113;
const PG14: u16 = 0xD10D;

/// A record: header (with CRC), `headers` (block/data headers), `data` (block data), main.
fn record(rmid: u8, info: u8, headers: &[u8], data: &[u8], main: &[u8]) -> Vec<u8> {
    let mut body = headers.to_vec();
    if !main.is_empty() {
        if main.len() < 256 {
            body.extend([255, main.len() as u8]);
        } else {
            body.push(254);
            body.extend((main.len() as u32).to_le_bytes());
        }
    }
    body.extend_from_slice(data);
    body.extend_from_slice(main);
    let total = (RECORD_HEADER + body.len()) as u32;
    let mut rec = Vec::new();
    rec.extend(total.to_le_bytes());
    rec.extend(7u32.to_le_bytes()); // xid
    rec.extend(0u64.to_le_bytes()); // prev
    rec.extend([info, rmid, 0, 0]);
    let crc = !crc32c(crc32c(!0, &body), &rec[..20]);
    rec.extend(crc.to_le_bytes());
    rec.extend(body);
    rec
}

fn commit(time: i64) -> Vec<u8> {
    let mut main = time.to_le_bytes().to_vec();
    main.extend([0u8; 12]);
    record(RM_XACT_ID, 0x00, &[], &[], &main)
}

fn filler(len: usize) -> Vec<u8> {
    record(10, 0x00, &[], &[], &vec![0xAB; len])
}

/// Lays records out in pages of a 1 MiB segment at 0/3000000 (after `carry` bytes of a
/// record begun in the previous segment), zeros after the last.
struct Writer {
    out: Vec<u8>,
    magic: u16,
}

impl Writer {
    fn new(magic: u16, carry: usize) -> Self {
        let mut w = Writer {
            out: Vec::new(),
            magic,
        };
        w.page_header(carry);
        w.put(&vec![0x55; carry], carry);
        w
    }

    fn page_header(&mut self, rem_len: usize) {
        let page_no = (self.out.len() / PAGE) as u64;
        let mut info: u16 = if rem_len > 0 {
            XLP_FIRST_IS_CONTRECORD
        } else {
            0
        };
        if page_no == 0 {
            info |= XLP_LONG_HEADER;
        }
        self.out.extend(self.magic.to_le_bytes());
        self.out.extend(info.to_le_bytes());
        self.out.extend(1u32.to_le_bytes());
        self.out
            .extend((0x300_0000 + page_no * PAGE as u64).to_le_bytes());
        self.out.extend((rem_len as u32).to_le_bytes());
        self.out.extend([0u8; 4]);
        if page_no == 0 {
            self.out.extend(0x7000_0000_0000_0001u64.to_le_bytes());
            self.out.extend((1u32 << 20).to_le_bytes());
            self.out.extend((PAGE as u32).to_le_bytes());
        }
    }

    /// Write `bytes`, `left` of the record being the bytes still to write from here.
    fn put(&mut self, bytes: &[u8], mut left: usize) {
        for b in bytes {
            if self.out.len() % PAGE == 0 {
                self.page_header(left);
            }
            self.out.push(*b);
            left -= 1;
        }
        while self.out.len() % 8 != 0 {
            self.out.push(0);
        }
    }

    fn record(mut self, rec: &[u8]) -> Self {
        if self.out.len() % PAGE == 0 {
            self.page_header(0);
        }
        self.put(rec, rec.len());
        self
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.resize(1 << 20, 0);
        self.out
    }
}

fn scan(bytes: &[u8]) -> Option<CommitSpan> {
    let mut s = CommitScanner::new();
    s.feed(bytes);
    s.finish()
}

fn span(count: u64, first: i64, last: i64) -> Option<CommitSpan> {
    Some(CommitSpan {
        count,
        first: Some(first),
        last: Some(last),
    })
}

#[test]
fn wal_records_finds_commit_times_out_of_order() {
    let seg = Writer::new(PG16, 0)
        .record(&filler(100))
        .record(&commit(500))
        .record(&commit(300))
        .record(&record(RM_XACT_ID, 0x20, &[], &[], &900i64.to_le_bytes())) // abort
        .record(&record(RM_XACT_ID, 0x10, &[], &[], &[1u8; 40])) // prepare: not an end
        .record(&commit(700))
        .finish();
    assert_eq!(scan(&seg), span(4, 300, 900));
}

#[test]
fn wal_records_reads_records_spanning_pages_and_a_carried_tail() {
    let big = record(RM_XACT_ID, 0x30, &[], &[], &{
        let mut m = 42i64.to_le_bytes().to_vec();
        m.extend(vec![9u8; 3 * PAGE]);
        m
    });
    let seg = Writer::new(PG16, 2 * PAGE + 100)
        .record(&commit(41))
        .record(&filler(PAGE - 200))
        .record(&big)
        .record(&commit(43))
        .finish();
    assert_eq!(scan(&seg), span(3, 41, 43));
}

#[test]
fn wal_records_splits_a_header_across_pages() {
    // Fill so that the commit's header starts 8 bytes before a page end.
    let first = Writer::new(PG16, 0);
    let room = PAGE - first.out.len() - 8 - RECORD_HEADER - 5;
    let seg = first.record(&filler(room)).record(&commit(77)).finish();
    assert_eq!(scan(&seg), span(1, 77, 77));
}

#[test]
fn wal_records_skips_block_headers_before_the_main_data() {
    // Block 0 with an image (hole, compressed), a different relation; then block 1 same rel.
    let mut headers = vec![0u8, 0x10, 4, 0, 16, 0, 0, 0, 0x01 | 0x04, 2, 0];
    headers.extend([0u8; 12 + 4]);
    headers.extend([1u8, 0x80, 3, 0]);
    headers.extend([0u8; 4]);
    let data = [7u8; 16 + 4 + 3];
    let time = 1234i64.to_le_bytes();
    let rec15 = record(RM_XACT_ID, 0x00, &headers, &data, &time);
    assert_eq!(
        scan(&Writer::new(PG16, 0).record(&rec15).finish()),
        span(1, 1234, 1234)
    );
    // Before 15, 0x04 is BKPIMAGE_APPLY, not compression: no hole length.
    let mut headers14 = headers.clone();
    headers14[8] = 0x01 | 0x02;
    let rec14 = record(RM_XACT_ID, 0x00, &headers14, &data, &time);
    assert_eq!(
        scan(&Writer::new(PG14, 0).record(&rec14).finish()),
        span(1, 1234, 1234)
    );
    let mut headers14_plain = headers.clone();
    headers14_plain[8] = 0x01 | 0x04;
    headers14_plain.drain(9..11);
    let rec14 = record(RM_XACT_ID, 0x00, &headers14_plain, &data, &time);
    assert_eq!(
        scan(&Writer::new(PG14, 0).record(&rec14).finish()),
        span(1, 1234, 1234)
    );
}

#[test]
fn wal_records_stops_at_a_switch_and_at_foreign_pages() {
    let mut seg = Writer::new(PG16, 0)
        .record(&commit(1))
        .record(&record(RM_XLOG_ID, XLOG_SWITCH, &[], &[], &[]))
        .record(&commit(2))
        .finish();
    assert_eq!(scan(&seg), span(1, 1, 1));
    // A page of another segment (a recycled file) ends the valid WAL.
    seg = Writer::new(PG16, 0)
        .record(&commit(1))
        .record(&filler(PAGE))
        .record(&commit(99))
        .finish();
    assert_eq!(scan(&seg), span(2, 1, 99));
    seg[PAGE + 8..PAGE + 16].copy_from_slice(&0x100_2000u64.to_le_bytes());
    assert_eq!(scan(&seg), span(1, 1, 1));
}

#[test]
fn wal_records_empty_segment_has_no_commits() {
    assert_eq!(
        scan(&Writer::new(PG16, 0).record(&filler(10)).finish()),
        Some(CommitSpan::default())
    );
}

#[test]
fn wal_records_bad_crc_or_non_wal_is_unknown() {
    let mut seg = Writer::new(PG16, 0).record(&commit(5)).finish();
    seg[LONG_PAGE_HEADER + RECORD_HEADER + 2] ^= 1;
    assert_eq!(scan(&seg), None);
    assert_eq!(scan(b""), None);
    assert_eq!(scan(&[0u8; 1 << 16]), None);
    assert_eq!(
        scan(b"\x1f\x8b\x08 gzip data, not WAL at all, really"),
        None
    );
}

#[test]
fn wal_records_truncated_segments_never_panic_and_keep_what_they_hold() {
    let seg = Writer::new(PG16, 100)
        .record(&commit(10))
        .record(&filler(3 * PAGE))
        .record(&commit(20))
        .finish();
    let whole = scan(&seg);
    assert_eq!(whole, span(2, 10, 20));
    for cut in (0..4 * PAGE).step_by(7) {
        let got = scan(&seg[..cut]);
        if let Some(got) = got {
            assert!(got.count <= 2, "cut {cut}");
        }
    }
}

proptest! {
    #[test]
    fn wal_records_any_chunking_gives_the_same_answer(cuts in proptest::collection::vec(1usize..20000, 1..40)) {
        let seg = Writer::new(PG16, 3000)
            .record(&commit(10))
            .record(&filler(2 * PAGE))
            .record(&commit(30))
            .record(&commit(20))
            .finish();
        let mut s = CommitScanner::new();
        let mut rest = &seg[..];
        for cut in cuts {
            let n = cut.min(rest.len());
            s.feed(&rest[..n]);
            rest = &rest[n..];
        }
        s.feed(rest);
        prop_assert_eq!(s.finish(), span(3, 10, 30));
    }

    #[test]
    fn wal_records_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..20000)) {
        let _ = scan(&bytes);
    }

    #[test]
    fn wal_records_corrupted_segments_never_panic(flips in proptest::collection::vec((0usize..(6 * PAGE), any::<u8>()), 1..30)) {
        let mut seg = Writer::new(PG16, 0)
            .record(&commit(10))
            .record(&filler(2 * PAGE))
            .record(&commit(30))
            .finish();
        for (at, b) in flips {
            seg[at] = b;
        }
        let _ = scan(&seg);
    }
}

#[test]
fn wal_records_refuses_another_segments_bytes() {
    // Writer's segment starts at 0/3000000 with 1 MiB segments: segment 0x30 of log 0.
    let seg = Writer::new(PG16, 0).record(&commit(5)).finish();
    let read_as = |log, n| {
        let mut s = CommitScanner::for_segment(log, n);
        s.feed(&seg);
        s.finish()
    };
    assert_eq!(read_as(0, 0x30), span(1, 5, 5));
    // A recycled file still holding the WAL of the segment it was before.
    assert_eq!(read_as(0, 0x31), None);
    assert_eq!(read_as(1, 0x30), None);
}
