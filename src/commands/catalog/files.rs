//! `list-files` and `keep` (the two small catalog commands).

use super::common::{bad_wal_name_message, segment_size, ServerCatalog};
use super::show::NO_FILTER;
use super::{KeepAction, ListFilesTarget};
use crate::adapters::catalog::{annotations, backup_dir};
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupStatus;
use crate::core::backup_info::Field;
use crate::core::backup_wals::required_segments;
use crate::core::wal_name::WalFileName;
use crate::output::Output;
use serde_json::{Map, Value};
use std::path::PathBuf;

fn load<'a>(
    ctx: &'a Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
) -> crate::Result<Option<(ServerCatalog<'a>, BackupId)>> {
    let Some(server) = select::single(&ctx.config, server, out, NO_FILTER) else {
        return Ok(None);
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    Ok(catalog.resolve(backup_id, out).map(|id| (catalog, id)))
}

/// `list-files SERVER ID [--target ...] [--list-empty-directories]`.
pub fn list_files(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
    target: ListFilesTarget,
    empty_dirs: bool,
) -> crate::Result<()> {
    let Some((catalog, id)) = load(ctx, out, server, backup_id)? else {
        return Ok(());
    };
    let info = &catalog.backups[&id];
    if target != ListFilesTarget::Wal {
        for line in backup_dir::list_entries(&catalog.dirs, &id, empty_dirs) {
            out.info_unlogged(&line);
        }
    }
    let wal_path = |name: &str| {
        let hash = name
            .parse::<WalFileName>()
            .map(|n| n.hash_dir())
            .unwrap_or_default();
        let dir = catalog.dirs.wals_directory.join(hash);
        dir.join(name).to_string_lossy().into_owned()
    };
    if target == ListFilesTarget::Standalone {
        if let (Some(begin), Some(end)) = (info.raw(Field::BeginWal), info.raw(Field::EndWal)) {
            for segment in
                required_segments(begin, end, info.int(Field::Version), segment_size(info))
            {
                out.info_unlogged(&wal_path(&segment));
            }
        }
    }
    if matches!(target, ListFilesTarget::Wal | ListFilesTarget::Full) {
        let mut lines = Vec::new();
        let result = catalog.for_each_wal_until_next(&id, true, |e| lines.push(wal_path(&e.name)));
        for line in lines {
            out.info_unlogged(&line);
        }
        match result {
            Ok(()) => {}
            Err(Ok(name)) => out.error(&bad_wal_name_message(
                &name,
                catalog.server.name(),
                "xlog segment",
            )),
            Err(Err(e)) => return Err(e),
        }
    }
    Ok(())
}

/// `keep SERVER ID --target full|standalone | --status | --release`.
pub fn keep(
    ctx: &Context,
    out: &mut Output,
    server: &str,
    backup_id: &str,
    action: KeepAction,
) -> crate::Result<()> {
    let Some((catalog, id)) = load(ctx, out, server, backup_id)? else {
        return Ok(());
    };
    let info = &catalog.backups[&id];
    match action {
        KeepAction::Status => {
            let name = catalog.server.name();
            let target = catalog
                .keep_raw(&id)?
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "nokeep".into());
            out.line(&format!("Server {name}:"));
            out.line(&format!("\tKeep: {target}"));
            let mut status = Map::new();
            status.insert("description".into(), Value::String("Keep".into()));
            status.insert("message".into(), Value::String(target));
            let mut doc = Map::new();
            doc.insert("keep_status".into(), Value::Object(status));
            out.json_set(name, Value::Object(doc));
        }
        KeepAction::Release => {
            if catalog.server.uses_backup_cloud_storage() {
                super::cloud_objects::mirror_keep(catalog.server, &id, None)?;
            }
            annotations::delete(&catalog.dirs, &id, annotations::KEEP)?
        }
        KeepAction::Full | KeepAction::Standalone => {
            if info.status() != BackupStatus::Done {
                out.error(&format!(
                    "Cannot add keep to backup {id} because it has status {}. Only backups with status DONE can be kept.",
                    info.status()
                ));
                return Ok(());
            }
            if info.raw(Field::ParentBackupId).is_some() {
                out.error(&format!(
                    "Unable to execute the keep command on backup {id}: is an incremental backup.\nOnly full backups are eligible for the use of the keep command."
                ));
                return Ok(());
            }
            let target = if action == KeepAction::Full {
                "full"
            } else {
                "standalone"
            };
            if catalog.server.uses_backup_cloud_storage() {
                super::cloud_objects::mirror_keep(catalog.server, &id, Some(target))?;
            }
            annotations::write(&catalog.dirs, &id, annotations::KEEP, target)?;
        }
    }
    Ok(())
}
