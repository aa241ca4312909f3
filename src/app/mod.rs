//! Application entry: load the configuration, become `barman_user`, set up logging and
//! output, look up the command's spec, dispatch, and turn the outcome into an exit code.
//! Barman's start-up order (`cli.main`) is kept: the configuration is read before anything
//! else, so even `barman` without a command fails when no configuration exists.

pub mod exit;
mod handlers;
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
            return exit::exit_code(crate::error::ExitKind::Failure);
        }
    };
    if let Err(message) = privileges::become_user(&config.global.barman_user) {
        output::eprint_raw(&format!("ERROR: {message}\n"));
        return exit::exit_code(crate::error::ExitKind::Failure);
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
        return exit::exit_code(crate::error::ExitKind::NagiosCritical);
    } else if spec.stops_on_global_errors && !ctx.config.errors_list.is_empty() {
        for error in &ctx.config.errors_list {
            out.error(error);
        }
    } else if let Err(err) = dispatch(&ctx, &mut out, command) {
        exit::report(&mut out, &err);
    }
    out.close();
    exit::of_run(&out)
}

fn dispatch(ctx: &Context, out: &mut Output, command: Command) -> crate::Result<()> {
    match command {
        Command::ArchiveWal(args) => commands::wal::archive_wal(ctx, out, &args.server_name),
        Command::Backup(args) => handlers::backup(ctx, out, args),
        Command::Check(args) => handlers::check(ctx, out, args),
        Command::CheckBackup(args) => handlers::check_backup(ctx, out, args),
        Command::Cron(args) => commands::cron::run(ctx, out, args.keep_descriptors),
        Command::Drill(args) => handlers::drill(ctx, out, args),
        Command::Metrics(args) => commands::metrics::run(ctx, out, &args.server_name),
        Command::VerifyArchive(args) => handlers::verify_archive(ctx, out, args),
        Command::CheckArchivedWalRange(args) => handlers::check_archived_wal_range(ctx, out, args),
        Command::CloudWalArchive(args) => handlers::cloud_wal_archive(ctx, out, args),
        Command::CloudWalRestore(args) => handlers::cloud_wal_restore(ctx, out, args),
        Command::ConfigSwitch(args) => handlers::config_switch(ctx, out, args),
        Command::ConfigUpdate(args) => handlers::config_update(ctx, out, args),
        // Handled before the output is set up (help goes to stdout as is).
        Command::Help => Ok(()),
        Command::ListProcesses(args) => handlers::list_processes(ctx, out, args),
        Command::LockDirectoryCleanup => commands::cron::lock_directory_cleanup(ctx),
        Command::TerminateProcess(args) => handlers::terminate_process(ctx, out, args),
        Command::Delete(args) => handlers::delete(ctx, out, args),
        Command::Keep(args) => handlers::keep(ctx, out, args),
        Command::ListBackups(args) => handlers::list_backups(ctx, out, args),
        Command::ListFiles(args) => handlers::list_files(ctx, out, args),
        Command::Restore(args) => handlers::restore(ctx, out, *args),
        Command::ShowBackup(args) => handlers::show_backup(ctx, out, args),
        Command::Status(args) => commands::check::status(ctx, out, &args.server_name),
        Command::SyncBackup(args) => handlers::sync_backup(ctx, out, args),
        Command::SyncInfo(args) => handlers::sync_info(ctx, out, args),
        Command::SyncWals(args) => commands::sync::sync_wals(ctx, out, &args.server_name),
        Command::GetWal(args) => handlers::get_wal(ctx, out, args),
        Command::PutWal(args) => handlers::put_wal(ctx, out, args),
        Command::ReceiveWal(args) => handlers::receive_wal(ctx, out, args),
        Command::RebuildXlogdb(args) => commands::wal::rebuild_xlogdb(ctx, out, &args.server_name),
        Command::CheckWalArchive(args) => handlers::check_wal_archive(ctx, out, args),
        Command::Diagnose(args) => commands::diagnose::run(ctx, out, args.show_config_source),
        Command::ListServers(args) => commands::servers::list(ctx, out, args.minimal),
        Command::SwitchWal(args) => handlers::switch_wal(ctx, out, args),
        Command::ReplicationStatus(args) => handlers::replication_status(ctx, out, args),
        Command::ShowServers(args) => commands::servers::show(ctx, out, &args.server_name),
        Command::GenerateManifest(args) => handlers::generate_manifest(ctx, out, args),
        Command::ExportBackup(args) => handlers::export_backup(ctx, out, args),
        Command::ImportBackup(args) => handlers::import_backup(ctx, out, args),
        Command::VerifyBackup(args) => handlers::verify_backup(ctx, out, args),
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
