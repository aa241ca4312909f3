//! Application entry: load the configuration, become `barman_user`, set up logging and
//! output, look up the command's spec, dispatch, and turn the outcome into an exit code.
//! Barman's start-up order (`cli.main`) is kept: the configuration is read before anything
//! else, so even `barman` without a command fails when no configuration exists.

pub mod exit;
pub mod spec;

use crate::adapters::{config_files, privileges};
use crate::cli::{Cli, ColorArg, Command, FormatArg};
use crate::commands::{self, Context};
use crate::output::{self, ColorChoice, Format, Output};
use std::path::PathBuf;
use std::process::ExitCode;

/// The one-line `-v/--version` text. The first word stays the Barman version we are
/// compatible with, because scripts parse it.
pub fn version_line() -> String {
    format!(
        "{} Barman by EnterpriseDB (www.enterprisedb.com), Rust implementation {}",
        crate::BARMAN_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

/// Run a parsed command line to completion and return the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    if cli.global.version {
        output::print_raw(&format!("{}\n", version_line()));
        return ExitCode::SUCCESS;
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config = match config_files::locate(cli.global.config.as_deref(), None, home.as_deref())
        .and_then(|path| config_files::load(&path))
    {
        Ok(config) => config,
        Err(err) => {
            // Barman exits through SystemExit(<message>): the bare text on stderr, exit 1.
            output::eprint_raw(&format!("{err}\n"));
            return exit::failure();
        }
    };
    if let Err(message) = privileges::become_user(&config.global.barman_user) {
        output::eprint_raw(&format!("ERROR: {message}\n"));
        return exit::failure();
    }
    let level_problem = setup_logging(&cli, &config);
    let Some(command) = cli.command else {
        // No command: full help on stdout, exit 0 (argparse's behaviour in Barman).
        output::print_raw(&format!("{}\n", crate::cli::command().render_help()));
        return ExitCode::SUCCESS;
    };
    if matches!(command, Command::Help) {
        // `help`: exactly what `--help` prints (argparse's `print_help`), exit 0.
        output::print_raw(&crate::cli::command().render_long_help().to_string());
        return ExitCode::SUCCESS;
    }
    let mut out = Output::new(
        format_of(cli.global.format),
        cli.global.quiet,
        cli.global.debug,
        color_of(cli.global.color),
    );
    if let Some(problem) = level_problem {
        out.warning(&problem);
    }
    for warning in &config.warnings {
        out.warning(warning);
    }
    // An active model of another cluster: Barman reports it while setting servers up.
    for error in &config.model_errors {
        out.error(error);
    }
    let spec = spec::of(&command);
    log_start(&cli.global, &config, spec.name);
    let ctx = Context {
        config,
        now: chrono::Local::now().fixed_offset(),
    };
    let nagios = matches!(&command, Command::Check(args) if args.nagios)
        || matches!(&command, Command::VerifyArchive(args) if args.nagios);
    if spec.stops_on_global_errors && !ctx.config.errors_list.is_empty() && nagios {
        // Barman's Nagios writer hides the messages and reports the state alone.
        for error in &ctx.config.errors_list {
            tracing::error!(target: "barman.cli", "{error}");
        }
        output::print_raw("BARMAN CRITICAL - Global configuration errors\n");
        return ExitCode::from(2);
    } else if spec.stops_on_global_errors && !ctx.config.errors_list.is_empty() {
        for error in &ctx.config.errors_list {
            out.error(error);
        }
    } else if let Err(err) = dispatch(&ctx, &mut out, command) {
        exit::report(&mut out, &err);
    }
    out.close();
    if let Some(code) = out.exit_code() {
        ExitCode::from(code)
    } else if out.errored() {
        exit::failure()
    } else {
        ExitCode::SUCCESS
    }
}

fn dispatch(ctx: &Context, out: &mut Output, command: Command) -> crate::Result<()> {
    match command {
        Command::ArchiveWal(args) => commands::wal::archive_wal(ctx, out, &args.server_name),
        Command::Backup(args) => {
            let options = backup_options(&args);
            commands::backup::run(ctx, out, &args.server_name, &options)
        }
        Command::Check(args) => {
            let options = commands::check::CheckOptions {
                nagios: args.nagios,
                check_timeout: args.check_timeout,
            };
            commands::check::run(ctx, out, &args.server_name, options)
        }
        Command::CheckBackup(args) => {
            commands::catalog::check_backup(ctx, out, &args.server_name, &args.backup_id)
        }
        Command::Cron(args) => commands::cron::run(ctx, out, args.keep_descriptors),
        Command::Drill(args) => commands::drill::run(
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
        ),
        Command::Metrics(args) => commands::metrics::run(ctx, out, &args.server_name),
        Command::VerifyArchive(args) => commands::verify_archive::run(
            ctx,
            out,
            &args.server_name,
            commands::verify_archive::VerifyOptions {
                full: args.full,
                nagios: args.nagios,
            },
        ),
        Command::CheckArchivedWalRange(args) => {
            commands::wal_range::run(ctx, out, &args.server_name, &args.begin_wal, &args.end_wal)
        }
        Command::ConfigSwitch(args) => commands::config_cmds::config_switch(
            ctx,
            out,
            &args.server_name,
            args.model_name.as_deref(),
            args.reset,
        ),
        Command::ConfigUpdate(args) => {
            commands::config_cmds::config_update(ctx, out, &args.json_changes)
        }
        // Handled before the output is set up (help goes to stdout as is).
        Command::Help => Ok(()),
        Command::ListProcesses(args) => {
            commands::processes::list_processes(ctx, out, &args.server_name)
        }
        Command::LockDirectoryCleanup => commands::cron::lock_directory_cleanup(ctx),
        Command::TerminateProcess(args) => {
            commands::processes::terminate_process(ctx, out, &args.server_name, &args.task)
        }
        Command::Delete(args) => {
            commands::catalog::delete(ctx, out, &args.server_name, &args.backup_id)
        }
        Command::Keep(args) => {
            let action = if args.release {
                commands::catalog::KeepAction::Release
            } else if args.status {
                commands::catalog::KeepAction::Status
            } else if args.target == Some(crate::cli::KeepTargetArg::Standalone) {
                commands::catalog::KeepAction::Standalone
            } else {
                commands::catalog::KeepAction::Full
            };
            commands::catalog::keep(ctx, out, &args.server_name, &args.backup_id, action)
        }
        Command::ListBackups(args) => {
            commands::catalog::list_backups(ctx, out, &args.server_name, args.minimal)
        }
        Command::ListFiles(args) => {
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
        Command::Restore(args) => commands::recover::run(ctx, out, &restore_options(*args)),
        Command::ShowBackup(args) => {
            commands::catalog::show_backup(ctx, out, &args.server_name, &args.backup_id)
        }
        Command::Status(args) => commands::check::status(ctx, out, &args.server_name),
        Command::SyncBackup(args) => {
            commands::sync::sync_backup(ctx, out, &args.server_name, &args.backup_id)
        }
        Command::SyncInfo(args) => commands::sync::sync_info(
            ctx,
            out,
            &args.server_name,
            args.last_wal.as_deref(),
            args.last_position,
            args.primary,
        ),
        Command::SyncWals(args) => commands::sync::sync_wals(ctx, out, &args.server_name),
        Command::GetWal(args) => {
            let server = args.server_name.clone();
            commands::get_wal::run(ctx, out, &server, &get_wal_request(args))
        }
        Command::PutWal(args) => commands::wal::put_wal(
            ctx,
            out,
            &args.server_name,
            args.test,
            std::io::stdin().lock(),
        ),
        Command::ReceiveWal(args) => {
            let options = commands::receive_wal::ReceiveWalOptions {
                stop: args.stop,
                create_slot: args.create_slot,
                if_not_exists: args.if_not_exists,
                drop_slot: args.drop_slot,
                reset: args.reset,
            };
            commands::receive_wal::run(ctx, out, &args.server_name, options)
        }
        Command::RebuildXlogdb(args) => commands::wal::rebuild_xlogdb(ctx, out, &args.server_name),
        Command::CheckWalArchive(args) => {
            commands::wal::check_wal_archive(ctx, out, &args.server_name, args.timeline)
        }
        Command::Diagnose(args) => commands::diagnose::run(ctx, out, args.show_config_source),
        Command::ListServers(args) => commands::servers::list(ctx, out, args.minimal),
        Command::SwitchWal(args) => commands::wal::switch_wal(
            ctx,
            out,
            &args.server_name,
            args.force,
            args.archive,
            args.archive_timeout,
        ),
        Command::ReplicationStatus(args) => {
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
        Command::ShowServers(args) => commands::servers::show(ctx, out, &args.server_name),
        Command::GenerateManifest(args) => {
            commands::manifest::generate_manifest(ctx, out, &args.server_name, &args.backup_id)
        }
        Command::ExportBackup(args) => {
            commands::export::export_backup(ctx, out, &export_request(args))
        }
        Command::ImportBackup(args) => {
            commands::export::import_backup(ctx, out, &args.server_name, &args.input_tarball)
        }
        Command::VerifyBackup(args) => {
            commands::manifest::verify_backup(ctx, out, &args.server_name, &args.backup_id)
        }
    }
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

fn setup_logging(cli: &Cli, config: &crate::core::config::Config) -> Option<String> {
    let wanted = cli
        .global
        .log_level
        .map(|level| level.name().to_string())
        .unwrap_or_else(|| config.global.log_level.clone());
    let mut problem = None;
    let level = crate::logging::parse_level(&wanted).unwrap_or_else(|| {
        problem = Some(format!("unknown log_level in config file: {wanted}"));
        tracing::level_filters::LevelFilter::INFO
    });
    let log_file = config.global.log_file.as_deref().map(PathBuf::from);
    // A log file that cannot be opened is reported in the log itself (on stderr).
    crate::logging::init(log_file.as_deref(), level, &config.global.log_format);
    problem
}

/// Barman's first debug lines: the included configuration files, then
/// `Initialised Barman version … (config: …, args: {…})`. Barman shows its argparse
/// namespace; we show the global options, the command and its raw arguments.
fn log_start(global: &crate::cli::GlobalArgs, config: &crate::core::config::Config, command: &str) {
    use crate::core::py_literal::str_repr;
    for name in &config.included_files {
        tracing::debug!(target: "barman.config", "Including configuration file: {name}");
    }
    let py_bool = |b: bool| if b { "True" } else { "False" };
    let color = match global.color {
        ColorArg::Never => "never",
        ColorArg::Always => "always",
        ColorArg::Auto => "auto",
    };
    let format = match global.format {
        FormatArg::Console => "console",
        FormatArg::Json => "json",
    };
    let config_arg = global.config.as_ref().map_or_else(
        || "None".to_string(),
        |p| str_repr(&p.display().to_string()),
    );
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| str_repr(&a.to_string_lossy()))
        .collect();
    tracing::debug!(
        target: "barman.cli",
        "Initialised Barman version {} (config: {}, args: {{'color': '{color}', 'quiet': {}, 'debug': {}, 'format': '{format}', 'command': '{command}', 'config': {config_arg}, 'argv': [{}]}})",
        crate::BARMAN_VERSION,
        config.config_file,
        py_bool(global.quiet),
        py_bool(global.debug),
        argv.join(", ")
    );
}

fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Console => Format::Console,
        FormatArg::Json => Format::Json,
    }
}

fn color_of(arg: ColorArg) -> ColorChoice {
    match arg {
        ColorArg::Never => ColorChoice::Never,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Auto => ColorChoice::Auto,
    }
}
