//! `show-backup`'s `Recovery window` (ours, from the commit-time index of
//! doc/commit-index.md): the earliest time the backup recovers to (its end) and the latest
//! (the last transaction end indexed on its timeline after its start). Shown only when the
//! index knows a transaction end there, so without an index the output stays Barman's.

use super::common::ServerCatalog;
use super::show_render::python_str;
use crate::adapters::catalog::commit_index;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::commit_index::{latest_commit, pg_time};
use chrono::FixedOffset;

/// (earliest, latest) as Python prints times, in `offset`.
pub fn recovery_window(
    catalog: &ServerCatalog,
    info: &BackupInfo,
    offset: FixedOffset,
) -> Option<(String, String)> {
    let end = info.end_time(offset)?;
    let tli = info.timeline()?.get();
    let begin = info.raw(Field::BeginWal)?;
    let index = commit_index::read(&catalog.dirs);
    let latest = pg_time(latest_commit(&index, tli, begin)?)?.with_timezone(&offset);
    Some((python_str(&end), python_str(&latest.max(end))))
}
