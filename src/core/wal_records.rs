//! A WAL record reader that finds the transaction end times in one plain WAL segment: the
//! xact resource manager's COMMIT, COMMIT_PREPARED, ABORT and ABORT_PREPARED records, whose
//! main data starts with `xact_time` — the records `recovery_target_time` stops at. Fed the
//! segment's bytes in chunks of any size ([`CommitScanner::feed`]) so the archiver can run
//! it in the pass that compresses the file. Pure; never panics on any input.
//!
//! The layout is PostgreSQL's (12–18 share it): pages of `xlp_xlog_blcksz` bytes, each with
//! a header (the first one long, carrying the segment and page sizes), records MAXALIGNed
//! and free to span pages (`xlp_rem_len` on the continuation page), each record a 24-byte
//! `XLogRecord` then block headers, the main-data header, block data and the main data last
//! (`src/include/access/xlogrecord.h`, `xlogreader.c` `DecodeXLogRecord`). The page magic
//! differs per major; any `0xD0xx`/`0xD1xx` is accepted. Garbage after the segment's
//! valid WAL (a recycled file) is cut off by the page-address check, and a record is
//! believed only when its CRC-32C matches.

/// `sizeof(XLogRecord)`.
const RECORD_HEADER: usize = 24;
/// `SizeOfXLogShortPHD`.
const SHORT_PAGE_HEADER: usize = 24;
/// `SizeOfXLogLongPHD`.
const LONG_PAGE_HEADER: usize = 40;
/// `xlp_info` flags.
const XLP_FIRST_IS_CONTRECORD: u16 = 0x0001;
const XLP_LONG_HEADER: u16 = 0x0002;
const XLP_ALL_FLAGS: u16 = 0x000F;
/// Resource managers and the record kinds read here.
const RM_XLOG_ID: u8 = 0;
const RM_XACT_ID: u8 = 1;
const XLOG_SWITCH: u8 = 0x40;
const XLOG_XACT_OPMASK: u8 = 0x70;
const XACT_ENDS: [u8; 4] = [0x00, 0x20, 0x30, 0x40];
/// Records longer than this are not assembled (a commit carries at most a few MiB of
/// subtransactions and invalidations); one that is makes the segment unknown.
const MAX_ASSEMBLED: usize = 64 << 20;
/// `XLP_PAGE_MAGIC` of PostgreSQL 15, the first with the new `bimg_info` bits.
const MAGIC_PG15: u16 = 0xD110;

/// Transaction end times found in a segment, as PostgreSQL `TimestampTz` (microseconds
/// since 2000-01-01 00:00 UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitSpan {
    /// Commit and abort records seen.
    pub count: u64,
    /// The earliest `xact_time` (None without any record).
    pub first: Option<i64>,
    /// The latest `xact_time`.
    pub last: Option<i64>,
}

impl CommitSpan {
    fn add(&mut self, time: i64) {
        self.count += 1;
        self.first = Some(self.first.map_or(time, |t| t.min(time)));
        self.last = Some(self.last.map_or(time, |t| t.max(time)));
    }
}

/// Where the reader is in the record stream.
#[derive(Debug)]
enum State {
    /// At a record boundary.
    Between,
    /// Inside a record whose bytes are skipped: this many are left.
    Skipping(usize),
    /// Assembling a record (header not yet complete, or a transaction end): its bytes so
    /// far and its total length.
    Assembling(Vec<u8>, usize),
    /// The segment's valid WAL ended (zeros, a switch record, a foreign page).
    Done,
}

/// The streaming reader of one segment.
#[derive(Debug)]
pub struct CommitScanner {
    /// Bytes of the current page not yet processed (a whole page, or the first 40 bytes).
    page: Vec<u8>,
    /// From the long header: page size, magic and the first page's address.
    geometry: Option<(usize, u16, u64)>,
    pages: u64,
    state: State,
    span: CommitSpan,
    /// Set when the input cannot be read as WAL, or a transaction end could not be read.
    unreadable: bool,
    /// The segment the bytes must be (`log`, `seg` of its file name), when known.
    expected: Option<(u32, u32)>,
}

impl Default for CommitScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl CommitScanner {
    /// A reader at the start of a segment.
    pub fn new() -> Self {
        Self {
            page: Vec::new(),
            geometry: None,
            pages: 0,
            state: State::Between,
            span: CommitSpan::default(),
            unreadable: false,
            expected: None,
        }
    }

    /// A reader of the segment named `…LLLLLLLLSSSSSSSS`: bytes whose first page is another
    /// segment's (a recycled file still holding its old WAL) are unreadable, not read.
    pub fn for_segment(log: u32, seg: u32) -> Self {
        Self {
            expected: Some((log, seg)),
            ..Self::new()
        }
    }

    /// The next bytes of the segment.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.finished() {
            let want = match self.geometry {
                Some((page_size, _, _)) => page_size,
                None => LONG_PAGE_HEADER,
            };
            if self.page.is_empty() && self.geometry.is_some() && data.len() >= want {
                // A whole page in the input: read it in place.
                let (page, rest) = data.split_at(want);
                self.read_page(page);
                data = rest;
                continue;
            }
            let take = (want - self.page.len()).min(data.len());
            self.page.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.page.len() == want {
                if self.geometry.is_none() {
                    self.read_long_header();
                } else {
                    let page = std::mem::take(&mut self.page);
                    self.read_page(&page);
                }
            }
        }
    }

    /// The transaction end times, or None when the segment could not be read.
    pub fn finish(mut self) -> Option<CommitSpan> {
        self.geometry?;
        if !self.page.is_empty() && !self.finished() {
            // A short last page (a truncated file): what it holds still counts.
            let page = std::mem::take(&mut self.page);
            self.read_page(&page);
        }
        (!self.unreadable).then_some(self.span)
    }

    fn finished(&self) -> bool {
        self.unreadable || matches!(self.state, State::Done)
    }

    /// The first 40 bytes: check the long header, learn the page size; the page itself is
    /// read once complete.
    fn read_long_header(&mut self) {
        let h = &self.page;
        let magic = u16_at(h, 0);
        let info = u16_at(h, 2);
        let pageaddr = u64_at(h, 8);
        let seg_size = u32_at(h, 32) as u64;
        let page_size = u32_at(h, 36) as usize;
        let sane = magic & 0xFE00 == 0xD000
            && info & XLP_LONG_HEADER != 0
            && info & !XLP_ALL_FLAGS == 0
            && seg_size.is_power_of_two()
            && (1 << 20..=1 << 30).contains(&seg_size)
            && page_size.is_power_of_two()
            && (1 << 10..=1 << 16).contains(&page_size)
            && pageaddr % seg_size == 0
            && self.expected.is_none_or(|(log, seg)| {
                pageaddr >> 32 == u64::from(log)
                    && (pageaddr & 0xFFFF_FFFF) / seg_size == u64::from(seg)
            });
        if sane {
            self.geometry = Some((page_size, magic, pageaddr));
        } else {
            self.unreadable = true;
        }
    }

    /// One page (or the short tail of one).
    fn read_page(&mut self, page: &[u8]) {
        let Some((page_size, magic, first_addr)) = self.geometry else {
            return;
        };
        if page.len() < SHORT_PAGE_HEADER {
            self.state = State::Done;
            return;
        }
        let info = u16_at(page, 2);
        let expected = first_addr.wrapping_add(self.pages * page_size as u64);
        if u16_at(page, 0) != magic || u64_at(page, 8) != expected || info & !XLP_ALL_FLAGS != 0 {
            self.state = State::Done;
            return;
        }
        let first_page = self.pages == 0;
        self.pages += 1;
        let header = if info & XLP_LONG_HEADER != 0 {
            LONG_PAGE_HEADER
        } else {
            SHORT_PAGE_HEADER
        };
        let rem_len = u32_at(page, 16) as usize;
        let continued = info & XLP_FIRST_IS_CONTRECORD != 0;
        let state = std::mem::replace(&mut self.state, State::Between);
        self.state = match state {
            // A record begun in the previous segment: skip its tail.
            State::Between if first_page && continued => State::Skipping(rem_len),
            State::Skipping(left) if continued && left == rem_len => State::Skipping(left),
            State::Assembling(buf, total) if continued && total - buf.len() == rem_len => {
                State::Assembling(buf, total)
            }
            // A record whose continuation was overwritten (PostgreSQL ≥ 15 writes
            // XLP_FIRST_IS_OVERWRITE_CONTRECORD then): forget it.
            State::Skipping(_) | State::Assembling(..) if !continued => State::Between,
            State::Between if !continued => State::Between,
            _ => State::Done,
        };
        let mut pos = header.min(page.len());
        while pos < page.len() && !self.finished() {
            pos = self.step(page, pos, magic);
        }
    }

    /// Consume bytes of `page` from `pos`; returns the new position.
    fn step(&mut self, page: &[u8], pos: usize, magic: u16) -> usize {
        let state = std::mem::replace(&mut self.state, State::Done);
        let (state, pos) = match state {
            State::Done => (State::Done, page.len()),
            State::Skipping(left) => {
                let take = left.min(page.len() - pos);
                let next = if take == left {
                    State::Between
                } else {
                    State::Skipping(left - take)
                };
                (next, pos + take)
            }
            State::Assembling(mut buf, total) => {
                let take = (total - buf.len()).min(page.len() - pos);
                buf.extend_from_slice(&page[pos..pos + take]);
                (self.assembled(buf, total, magic), pos + take)
            }
            State::Between => {
                let pos = (pos + 7) & !7;
                if pos + 4 > page.len() {
                    // The rest of the page is alignment padding.
                    (State::Between, page.len())
                } else {
                    let total = u32_at(page, pos) as usize;
                    if total < RECORD_HEADER {
                        // Zeros: the end of the segment's WAL.
                        (State::Done, page.len())
                    } else {
                        (State::Assembling(Vec::new(), total), pos)
                    }
                }
            }
        };
        self.state = state;
        pos
    }

    /// Decide what to do with a record being assembled, given its bytes so far.
    fn assembled(&mut self, buf: Vec<u8>, total: usize, magic: u16) -> State {
        if buf.len() < RECORD_HEADER.min(total) {
            return State::Assembling(buf, total);
        }
        let info = buf[16];
        let rmid = buf[17];
        let wanted = rmid == RM_XACT_ID && XACT_ENDS.contains(&(info & XLOG_XACT_OPMASK));
        if rmid == RM_XLOG_ID && info & 0xF0 == XLOG_SWITCH {
            // The rest of the segment is padding.
            return State::Done;
        }
        if !wanted {
            return match total - buf.len() {
                0 => State::Between,
                left => State::Skipping(left),
            };
        }
        if total > MAX_ASSEMBLED {
            self.unreadable = true;
            return State::Done;
        }
        if buf.len() < total {
            return State::Assembling(buf, total);
        }
        match xact_time(&buf, magic) {
            Some(time) => self.span.add(time),
            None => self.unreadable = true,
        }
        State::Between
    }
}

/// The `xact_time` of a complete commit/abort record, when its CRC and layout check out.
fn xact_time(record: &[u8], magic: u16) -> Option<i64> {
    let mut crc = crc32c(!0, &record[RECORD_HEADER..]);
    crc = crc32c(crc, &record[..20]);
    if !crc != u32_at(record, 20) {
        return None;
    }
    let main = main_data(record, magic)?;
    let bytes: [u8; 8] = main.get(..8)?.try_into().ok()?;
    Some(i64::from_le_bytes(bytes))
}

/// The main data of a record: walk the block and data headers (`DecodeXLogRecord`).
fn main_data(record: &[u8], magic: u16) -> Option<&[u8]> {
    let total = record.len();
    let mut pos = RECORD_HEADER;
    let mut data_total = 0usize;
    let mut main_len = 0usize;
    while total.checked_sub(pos)? > data_total {
        let id = *record.get(pos)?;
        pos += 1;
        match id {
            255 => {
                main_len = usize::from(*record.get(pos)?);
                pos += 1;
                break;
            }
            254 => {
                main_len = u32_at(record.get(pos..pos + 4)?, 0) as usize;
                pos += 4;
                break;
            }
            253 => pos += 2,
            252 => pos += 4,
            0..=32 => {
                let (len, next) = block_header(record, pos, magic)?;
                data_total += len;
                pos = next;
            }
            _ => return None,
        }
    }
    if pos.checked_add(data_total)?.checked_add(main_len)? != total {
        return None;
    }
    record.get(total - main_len..)
}

/// One block reference header at `pos`: the block's data and image bytes, the next
/// position.
fn block_header(record: &[u8], mut pos: usize, magic: u16) -> Option<(usize, usize)> {
    let fork_flags = *record.get(pos)?;
    let mut len = usize::from(u16_at(record.get(pos + 1..pos + 3)?, 0));
    pos += 3;
    if fork_flags & 0x10 != 0 {
        let image = record.get(pos..pos + 5)?;
        len += usize::from(u16_at(image, 0));
        let bimg_info = image[4];
        pos += 5;
        // BKPIMAGE_IS_COMPRESSED before 15, one of three compression bits since.
        let compressed = if magic >= MAGIC_PG15 {
            bimg_info & 0x1C != 0
        } else {
            bimg_info & 0x02 != 0
        };
        if bimg_info & 0x01 != 0 && compressed {
            pos += 2;
        }
    }
    if fork_flags & 0x80 == 0 {
        pos += 12;
    }
    Some((len, pos + 4))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// CRC-32C (Castagnoli), reflected, as PostgreSQL's `COMP_CRC32C`: start with `!0`, finish
/// with `!`.
fn crc32c(mut crc: u32, data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    for b in data {
        crc = TABLE[((crc ^ u32::from(*b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
#[path = "wal_records_tests.rs"]
mod tests;
