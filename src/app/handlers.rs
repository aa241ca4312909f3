//! The argument conversions of the commands whose options need more than a line:
//! clap's types become the commands' typed requests here, so `dispatch` stays a table.

use super::*;
use crate::cli;

/// `backup`.
pub(super) fn backup(ctx: &Context, out: &mut Output, args: cli::BackupArgs) -> crate::Result<()> {
    let options = backup_options(&args);
    commands::backup::run(ctx, out, &args.server_name, &options)
}

/// `check`.
pub(super) fn check(ctx: &Context, out: &mut Output, args: cli::CheckArgs) -> crate::Result<()> {
    let options = commands::check::CheckOptions {
        nagios: args.nagios,
        check_timeout: args.check_timeout,
    };
    commands::check::run(ctx, out, &args.server_name, options)
}

/// `check-backup`.
pub(super) fn check_backup(
    ctx: &Context,
    out: &mut Output,
    args: cli::BackupRef,
) -> crate::Result<()> {
    commands::catalog::check_backup(ctx, out, &args.server_name, &args.backup_id)
}

/// `drill`.
pub(super) fn drill(ctx: &Context, out: &mut Output, args: cli::DrillArgs) -> crate::Result<()> {
    commands::drill::run(
        ctx,
        out,
        &commands::drill::DrillRequest {
            server: args.server_name,
            backup_id: args.backup_id,
            target_time: args.target_time,
            target_lsn: args.target_lsn,
            target_xid: args.target_xid,
            target_name: args.target_name,
            target_immediate: args.target_immediate,
            jobs: args.jobs,
        },
    )
}

/// `check-archived-wal-range`.
pub(super) fn check_archived_wal_range(
    ctx: &Context,
    out: &mut Output,
    args: cli::CheckArchivedWalRangeArgs,
) -> crate::Result<()> {
    commands::wal_range::run(ctx, out, &args.server_name, &args.begin_wal, &args.end_wal)
}

/// `config-switch`.
pub(super) fn config_switch(
    ctx: &Context,
    out: &mut Output,
    args: cli::ConfigSwitchArgs,
) -> crate::Result<()> {
    commands::config_cmds::config_switch(
        ctx,
        out,
        &args.server_name,
        args.model_name.as_deref(),
        args.reset,
    )
}

/// `config-update`.
pub(super) fn config_update(
    ctx: &Context,
    out: &mut Output,
    args: cli::ConfigUpdateArgs,
) -> crate::Result<()> {
    commands::config_cmds::config_update(ctx, out, &args.json_changes)
}

/// `list-processes`.
pub(super) fn list_processes(
    ctx: &Context,
    out: &mut Output,
    args: cli::ServerArg,
) -> crate::Result<()> {
    commands::processes::list_processes(ctx, out, &args.server_name)
}

/// `terminate-process`.
pub(super) fn terminate_process(
    ctx: &Context,
    out: &mut Output,
    args: cli::TerminateProcessArgs,
) -> crate::Result<()> {
    commands::processes::terminate_process(ctx, out, &args.server_name, &args.task)
}

/// `delete`.
pub(super) fn delete(ctx: &Context, out: &mut Output, args: cli::BackupRef) -> crate::Result<()> {
    commands::catalog::delete(ctx, out, &args.server_name, &args.backup_id)
}

/// `keep`.
pub(super) fn keep(ctx: &Context, out: &mut Output, args: cli::KeepArgs) -> crate::Result<()> {
    use crate::cli::KeepTargetArg;
    let action = if args.release {
        commands::catalog::KeepAction::Release
    } else if args.status {
        commands::catalog::KeepAction::Status
    } else if let Some(target) = args.target {
        match target {
            KeepTargetArg::Standalone => commands::catalog::KeepAction::Standalone,
            KeepTargetArg::Full => commands::catalog::KeepAction::Full,
        }
    } else {
        out.error("one of the arguments -r/--release -s/--status --target is required");
        return Ok(());
    };
    commands::catalog::keep(ctx, out, &args.server_name, &args.backup_id, action)
}

/// `list-backups`.
pub(super) fn list_backups(
    ctx: &Context,
    out: &mut Output,
    args: cli::ListBackupsArgs,
) -> crate::Result<()> {
    commands::catalog::list_backups(ctx, out, &args.server_name, args.minimal)
}

/// `list-files`.
pub(super) fn list_files(
    ctx: &Context,
    out: &mut Output,
    args: cli::ListFilesArgs,
) -> crate::Result<()> {
    use crate::cli::ListFilesTargetArg as T;
    use commands::catalog::ListFilesTarget;
    let target = match args.target {
        T::Standalone => ListFilesTarget::Standalone,
        T::Data => ListFilesTarget::Data,
        T::Wal => ListFilesTarget::Wal,
        T::Full => ListFilesTarget::Full,
    };
    commands::catalog::list_files(
        ctx,
        out,
        &args.server_name,
        &args.backup_id,
        target,
        args.list_empty_directories,
    )
}

/// `show-backup`.
pub(super) fn show_backup(
    ctx: &Context,
    out: &mut Output,
    args: cli::BackupRef,
) -> crate::Result<()> {
    commands::catalog::show_backup(ctx, out, &args.server_name, &args.backup_id)
}

/// `sync-backup`.
pub(super) fn sync_backup(
    ctx: &Context,
    out: &mut Output,
    args: cli::SyncBackupArgs,
) -> crate::Result<()> {
    commands::sync::sync_backup(ctx, out, &args.server_name, &args.backup_id)
}

/// `sync-info`.
pub(super) fn sync_info(
    ctx: &Context,
    out: &mut Output,
    args: cli::SyncInfoArgs,
) -> crate::Result<()> {
    commands::sync::sync_info(
        ctx,
        out,
        &args.server_name,
        args.last_wal.as_deref(),
        args.last_position,
        args.primary,
    )
}

/// `get-wal`.
pub(super) fn get_wal(ctx: &Context, out: &mut Output, args: cli::GetWalArgs) -> crate::Result<()> {
    let server = args.server_name.clone();
    commands::get_wal::run(ctx, out, &server, &get_wal_request(args))
}

/// `cloud-wal-archive`.
pub(super) fn cloud_wal_archive(
    ctx: &Context,
    out: &mut Output,
    args: cli::CloudWalArchiveArgs,
) -> crate::Result<()> {
    let request = commands::cloud_wal::ArchiveRequest {
        wal_path: args.wal_path,
        parallel: args.parallel,
    };
    commands::cloud_wal::archive(ctx, out, &args.server_name, &request)
}

/// `cloud-wal-restore`.
pub(super) fn cloud_wal_restore(
    ctx: &Context,
    out: &mut Output,
    args: cli::CloudWalRestoreArgs,
) -> crate::Result<()> {
    let request = commands::cloud_wal::RestoreRequest {
        wal_name: args.wal_name,
        wal_dest: args.wal_dest,
        parallel: args.parallel,
        spool_dir: args.spool_dir,
    };
    commands::cloud_wal::restore(ctx, out, &args.server_name, &request)
}

/// `put-wal`.
pub(super) fn put_wal(ctx: &Context, out: &mut Output, args: cli::PutWalArgs) -> crate::Result<()> {
    commands::wal::put_wal(
        ctx,
        out,
        &args.server_name,
        args.test,
        std::io::stdin().lock(),
    )
}

/// `receive-wal`.
pub(super) fn receive_wal(
    ctx: &Context,
    out: &mut Output,
    args: cli::ReceiveWalArgs,
) -> crate::Result<()> {
    let options = commands::receive_wal::ReceiveWalOptions {
        stop: args.stop,
        create_slot: args.create_slot,
        if_not_exists: args.if_not_exists,
        drop_slot: args.drop_slot,
        reset: args.reset,
    };
    commands::receive_wal::run(ctx, out, &args.server_name, options)
}

/// `check-wal-archive`.
pub(super) fn check_wal_archive(
    ctx: &Context,
    out: &mut Output,
    args: cli::CheckWalArchiveArgs,
) -> crate::Result<()> {
    commands::wal::check_wal_archive(ctx, out, &args.server_name, args.timeline)
}

/// `switch-wal`.
pub(super) fn switch_wal(
    ctx: &Context,
    out: &mut Output,
    args: cli::SwitchWalArgs,
) -> crate::Result<()> {
    commands::wal::switch_wal(
        ctx,
        out,
        &args.server_name,
        args.force,
        args.archive,
        args.archive_timeout,
    )
}

/// `replication-status`.
pub(super) fn replication_status(
    ctx: &Context,
    out: &mut Output,
    args: cli::ReplicationStatusArgs,
) -> crate::Result<()> {
    let target = match args.target {
        crate::cli::ReplicationTarget::All => crate::adapters::postgres::ClientKind::All,
        crate::cli::ReplicationTarget::HotStandby => {
            crate::adapters::postgres::ClientKind::HotStandby
        }
        crate::cli::ReplicationTarget::WalStreamer => {
            crate::adapters::postgres::ClientKind::WalStreamer
        }
    };
    let options = commands::replication::Options {
        minimal: args.minimal,
        target,
        wal_host: args.source == crate::cli::ReplicationSource::WalHost,
    };
    commands::replication::run(ctx, out, &args.server_name, options)
}

/// `generate-manifest`.
pub(super) fn generate_manifest(
    ctx: &Context,
    out: &mut Output,
    args: cli::BackupRef,
) -> crate::Result<()> {
    commands::manifest::generate_manifest(ctx, out, &args.server_name, &args.backup_id)
}

/// `export-backup`.
pub(super) fn export_backup(
    ctx: &Context,
    out: &mut Output,
    args: cli::ExportBackupArgs,
) -> crate::Result<()> {
    commands::export::export_backup(ctx, out, &export_request(args))
}

/// `import-backup`.
pub(super) fn import_backup(
    ctx: &Context,
    out: &mut Output,
    args: cli::ImportBackupArgs,
) -> crate::Result<()> {
    commands::export::import_backup(ctx, out, &args.server_name, &args.input_tarball)
}

/// `verify-backup`.
pub(super) fn verify_backup(
    ctx: &Context,
    out: &mut Output,
    args: cli::BackupRef,
) -> crate::Result<()> {
    commands::manifest::verify_backup(ctx, out, &args.server_name, &args.backup_id)
}

/// `restore` (`recover`).
pub(super) fn restore(
    ctx: &Context,
    out: &mut Output,
    args: cli::RestoreArgs,
) -> crate::Result<()> {
    commands::recover::run(ctx, out, &restore_options(args))
}

fn backup_options(args: &crate::cli::BackupArgs) -> commands::backup::BackupOptions {
    use crate::cli::ReuseBackupArg;
    use commands::backup::ReuseBackup;
    let immediate_checkpoint = if args.immediate_checkpoint {
        Some(true)
    } else if args.no_immediate_checkpoint {
        Some(false)
    } else {
        None
    };
    commands::backup::BackupOptions {
        immediate_checkpoint,
        reuse_backup: args.reuse_backup.map(|r| match r {
            ReuseBackupArg::Off => ReuseBackup::Off,
            ReuseBackupArg::Copy => ReuseBackup::Copy,
            ReuseBackupArg::Link => ReuseBackup::Link,
        }),
        retry_times: if args.no_retry {
            Some(0)
        } else {
            args.retry_times
        },
        retry_sleep: args.retry_sleep,
        jobs: args.jobs,
        bwlimit: args.bwlimit,
        wait: args.wait,
        wait_timeout: args.wait_timeout,
        name: args.name.clone(),
        check_timeout: args.check_timeout,
        incremental: args.incremental.clone(),
        jobs_start_batch_period: args.jobs_start_batch_period,
        jobs_start_batch_size: args.jobs_start_batch_size,
        keepalive_interval: args.keepalive_interval,
        cloud_staging_directory: args.cloud_staging_directory.clone(),
        cloud_staging_max_size: args.cloud_staging_max_size,
        manifest: if args.manifest {
            Some(true)
        } else if args.no_manifest {
            Some(false)
        } else {
            None
        },
    }
}

fn restore_options(args: crate::cli::RestoreArgs) -> commands::recover::RestoreOptions {
    let pick = |yes: bool, no: bool| {
        if yes {
            Some(true)
        } else if no {
            Some(false)
        } else {
            None
        }
    };
    commands::recover::RestoreOptions {
        server: args.server_name,
        backup_id: args.backup_id,
        destination: args.destination_directory,
        target_tli: args.target_tli,
        target_time: args.target_time,
        target_xid: args.target_xid,
        target_lsn: args.target_lsn,
        target_name: args.target_name,
        target_immediate: args.target_immediate,
        exclusive: args.exclusive,
        tablespaces: args.tablespace,
        remote_ssh_command: args.remote_ssh_command,
        staging_wal_directory: args.staging_wal_directory,
        bwlimit: args.bwlimit,
        retry_times: if args.no_retry {
            Some(0)
        } else {
            args.retry_times
        },
        retry_sleep: args.retry_sleep,
        jobs: args.jobs,
        jobs_start_batch_period: args.jobs_start_batch_period,
        jobs_start_batch_size: args.jobs_start_batch_size,
        get_wal: pick(args.get_wal, args.no_get_wal),
        partial_wal: args.partial_wal,
        skip_archive_wal: args.skip_archive_wal,
        network_compression: pick(args.network_compression, args.no_network_compression),
        target_action: args.target_action,
        standby_mode: args.standby_mode,
        staging_path: args.staging_path,
        staging_location: args.staging_location,
        recovery_staging_path: args.recovery_staging_path,
        local_staging_path: args.local_staging_path,
        combine_mode: args.combine_mode.map(|m| m.to_lowercase()),
        recovery_conf_filename: args.recovery_conf_filename,
        recovery_option_port: args.recovery_option_port,
        restore_command: args.restore_command,
        delta_restore: pick(args.delta_restore, args.no_delta_restore),
    }
}

fn export_request(args: crate::cli::ExportBackupArgs) -> commands::export::ExportRequest {
    use crate::cli::ExportCompressionArg as C;
    use crate::core::export_tarball::TarballCompression as T;
    commands::export::ExportRequest {
        server: args.server_name,
        backup_id: args.backup_id,
        output_directory: args.output_directory,
        compression: match args.compression {
            None => T::None,
            Some(C::Gzip) => T::Gzip,
            Some(C::Bzip2) => T::Bzip2,
            Some(C::Xz) => T::Xz,
        },
        level: args.compression_level,
    }
}

fn get_wal_request(args: crate::cli::GetWalArgs) -> commands::get_wal::GetWalRequest {
    let compression = if args.gzip {
        Some("gzip".to_string())
    } else if args.bzip2 {
        Some("bzip2".to_string())
    } else {
        None
    };
    commands::get_wal::GetWalRequest {
        wal_name: args.wal_name,
        output_directory: args.output_directory,
        compression,
        keep_compression: args.keep_compression,
        peek: args.peek,
        partial: args.partial,
        test: args.test,
    }
}

/// `verify-archive` (ours).
pub(super) fn verify_archive(
    ctx: &Context,
    out: &mut Output,
    args: cli::VerifyArchiveArgs,
) -> crate::Result<()> {
    commands::verify_archive::run(
        ctx,
        out,
        &args.server_name,
        commands::verify_archive::VerifyOptions {
            full: args.full,
            nagios: args.nagios,
        },
    )
}
