//! Ours: the `drill maximum age` check line, shown only when `drill_maximum_age` is set
//! (so, without it, `check` prints what Barman prints).

use super::catalogue::{Probe, Recorder};
use crate::commands::catalog::ServerCatalog;
use crate::core::config::value::human_timedelta;
use std::path::PathBuf;

/// `drill maximum age`: the last successful `barman drill` is recent enough.
pub(super) fn check_drill_age(p: &mut Probe, rec: &mut Recorder) {
    let Some(limit) = p.ctx.config.global.drill_maximum_age else {
        return;
    };
    rec.init("drill maximum age");
    let lock_dir = PathBuf::from(&p.ctx.config.global.barman_lock_directory);
    let last = ServerCatalog::load(p.server, &lock_dir, *p.ctx.now.offset())
        .ok()
        .and_then(|catalog| crate::commands::drill::last_successful_drill(&catalog));
    let (ok, age) = match last {
        None => (false, "no successful drill".to_string()),
        Some(start) => {
            let age = (p.ctx.now - start).num_seconds();
            (age <= limit, human_timedelta(age))
        }
    };
    rec.result(
        ok,
        Some(format!(
            "interval provided: {}, latest successful drill age: {age}",
            human_timedelta(limit)
        )),
    );
}
