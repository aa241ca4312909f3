//! Manual pages generated from the clap definitions (`barman(1)`, `barman-wal-archive(1)`,
//! `barman-wal-restore(1)`, `barman-cloud-wal-archive(1)`, `barman-cloud-wal-restore(1)`,
//! `barman-cloud-check-wal-archive(1)`, `barman-cloud-backup(1)`, `barman-cloud-restore(1)`,
//! `barman-cloud-backup-list(1)`, `-show(1)`, `-delete(1)`, `-keep(1)`) and from the option table in `src/core/config/options.rs`
//! (`barman(5)`), committed under `man/` for `scripts/package`. Committed rather than built
//! by a `build.rs`: the pages need the crate's own CLI types (a build script cannot use
//! them), packaging then needs no extra binary, and a reviewer sees what changed. This test
//! fails when a page drifts; regenerate with `BARMAN_UPDATE_MAN=1 cargo test --test man`.

use barman::core::config::options::{GLOBAL_OPTIONS, SERVER_OPTIONS};
use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `.TH` source field: the package these pages ship in.
const SOURCE: &str = concat!("barman ", env!("CARGO_PKG_VERSION"));
const MANUAL: &str = "Barman manual";

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Every page: file name under `man/` and its text.
fn pages() -> Vec<(&'static str, String)> {
    vec![
        ("barman.1", barman_1()),
        ("barman.5", barman_5()),
        (
            "barman-wal-archive.1",
            client_page(barman::clients::wal_archive::Args::command()),
        ),
        (
            "barman-wal-restore.1",
            client_page(barman::clients::wal_restore::Args::command()),
        ),
        (
            "barman-cloud-wal-archive.1",
            client_page(barman::clients::cloud::wal_archive::Args::command()),
        ),
        (
            "barman-cloud-wal-restore.1",
            client_page(barman::clients::cloud::wal_restore::Args::command()),
        ),
        (
            "barman-cloud-check-wal-archive.1",
            client_page(barman::clients::cloud::check_wal_archive::Args::command()),
        ),
        (
            "barman-cloud-backup.1",
            client_page(barman::clients::cloud::backup::Args::command()),
        ),
        (
            "barman-cloud-restore.1",
            client_page(barman::clients::cloud::restore::Args::command()),
        ),
        (
            "barman-cloud-backup-list.1",
            client_page(barman::clients::cloud::backup_list::Args::command()),
        ),
        (
            "barman-cloud-backup-show.1",
            client_page(barman::clients::cloud::backup_show::Args::command()),
        ),
        (
            "barman-cloud-backup-delete.1",
            client_page(barman::clients::cloud::backup_delete::Args::command()),
        ),
        (
            "barman-cloud-backup-keep.1",
            client_page(barman::clients::cloud::backup_keep::Args::command()),
        ),
    ]
}

fn render(roff: &Roff) -> String {
    roff.to_roff()
}

fn man_of(cmd: clap::Command) -> Man {
    Man::new(cmd).source(SOURCE).manual(MANUAL)
}

fn section_text(write: impl Fn(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).expect("render to memory");
    String::from_utf8(out).expect("roff is utf-8")
}

/// A client page is clap_mangen's whole page.
fn client_page(cmd: clap::Command) -> String {
    section_text(|w| man_of(cmd.clone()).render(w))
}

/// `barman(1)`: title, synopsis and global options from clap_mangen, then one `.SS` per
/// command (clap_mangen would only list their names, pointing at per-command pages Barman
/// never had) with its synopsis, description and own options.
fn barman_1() -> String {
    let cmd = barman::cli::command();
    let man = man_of(cmd.clone());
    let mut page = String::new();
    for part in [
        Man::render_title,
        Man::render_name_section,
        Man::render_synopsis_section,
        Man::render_description_section,
        Man::render_options_section,
    ] {
        page.push_str(&section_text(|w| part(&man, w)));
    }
    page.push_str(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page.push_str(&command_subsection(sub));
    }
    page.push_str(&render(&files_and_see_also(&[
        "barman(5)",
        "barman-wal-archive(1)",
        "barman-wal-restore(1)",
    ])));
    page
}

/// One command of `barman(1)`: the global options are described once, at the top, so each
/// command lists only its own.
fn command_subsection(sub: &clap::Command) -> String {
    let own = sub.clone().mut_args(|arg| {
        if arg.is_global_set() {
            arg.hide(true)
        } else {
            arg
        }
    });
    let man = man_of(own);
    let mut roff = Roff::new();
    roff.control("SS", [sub.get_name()]);
    let aliases: Vec<&str> = sub.get_visible_aliases().collect();
    if !aliases.is_empty() {
        roff.text([roman(format!("Alias: {}.", aliases.join(", ")))]);
        roff.control("PP", []);
    }
    let mut text = render(&roff);
    // The command's sections become paragraphs of its subsection: man(7) has no third
    // heading level.
    text.push_str(&demote(&section_text(|w| man.render_synopsis_section(w))));
    text.push_str(".PP\n");
    text.push_str(&demote(&section_text(|w| {
        man.render_description_section(w)
    })));
    if sub
        .get_arguments()
        .any(|a| !a.is_global_set() && !a.is_hide_set())
    {
        text.push_str(&demote(&section_text(|w| man.render_options_section(w))));
    }
    text
}

/// Drops a section's `.SH` heading line (the subsection already names the command).
fn demote(section: &str) -> String {
    section
        .lines()
        .filter(|line| !line.starts_with(".SH "))
        .map(|line| format!("{line}\n"))
        .collect()
}

fn files_and_see_also(see_also: &[&str]) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/etc/barman.conf",
            "main configuration file (see barman(5))",
        ),
        ("/etc/barman.d/*.conf", "server configuration files"),
        (
            "/etc/cron.d/barman",
            "runs barman -q cron every minute as the barman user",
        ),
        (
            "/var/lib/barman",
            "default barman_home: backups, WAL archive and catalog",
        ),
        ("/var/log/barman/barman.log", "default log_file"),
    ] {
        roff.control("TP", []);
        roff.text([bold(path)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(see_also.join(", "))]);
    roff
}

/// Markdown `code` spans of the table's text as bold.
fn inline_code(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| if i % 2 == 1 { bold(part) } else { roman(part) })
        .collect()
}

fn default_line(default: Option<&str>) -> Vec<Inline> {
    match default {
        Some(d) if !d.is_empty() => vec![roman("Default: "), bold(d), roman(".")],
        Some(_) => vec![roman("Default: empty.")],
        None => vec![roman("Default: unset.")],
    }
}

/// `barman(5)`: the configuration files and every option of the table.
fn barman_5() -> String {
    let mut roff = Roff::new();
    roff.control("TH", ["barman", "5", "", SOURCE, MANUAL]);
    roff.control("SH", ["NAME"]);
    roff.text([roman("barman.conf - Barman configuration files")]);
    roff.control("SH", ["DESCRIPTION"]);
    for paragraph in DESCRIPTION {
        roff.text(inline_code(paragraph));
        roff.control("PP", []);
    }
    roff.control("SH", ["GLOBAL OPTIONS"]);
    roff.text([roman("Set in the [barman] section only.")]);
    for option in GLOBAL_OPTIONS {
        roff.control("TP", []);
        roff.text([bold(option.name)]);
        roff.text(inline_code(option.doc));
        roff.text([Inline::LineBreak]);
        roff.text(default_line(option.default));
    }
    roff.control("SH", ["SERVER OPTIONS"]);
    roff.text(inline_code(SCOPES));
    let mut options: Vec<_> = SERVER_OPTIONS.iter().collect();
    options.sort_by_key(|o| o.name);
    for option in options {
        let mut scope = vec!["server"];
        if option.inherited {
            scope.push("inherited");
        }
        if option.model {
            scope.push("model");
        }
        roff.control("TP", []);
        roff.text([
            bold(option.name),
            roman(" ("),
            italic(scope.join(", ")),
            roman(")"),
        ]);
        roff.text(inline_code(option.doc));
        roff.text([Inline::LineBreak]);
        let mut kind = vec![roman("Type: ")];
        kind.extend(inline_code(&option.kind.describe()));
        kind.push(roman(". "));
        kind.extend(default_line(option.default));
        roff.text(kind);
    }
    roff.control("SH", ["FILES"]);
    roff.text([roman(
        "/etc/barman.conf, /etc/barman/barman.conf, ~/.barman.conf, /etc/barman.d/*.conf.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("barman(1)")]);
    render(&roff)
}

const DESCRIPTION: &[&str] = &[
    "barman reads the same files as Barman 3.20: the main file (-c, BARMAN_CONFIG_FILE, \
     ~/.barman.conf, /etc/barman.conf or /etc/barman/barman.conf), then every *.conf file of \
     `configuration_files_directory` in name order, then <barman_home>/.barman.auto.conf.",
    "Files use Python ConfigParser syntax: `key = value` or `key: value`, # and ; comment \
     lines, indented continuation lines, `%(key)s` interpolation within a section of one \
     file, [DEFAULT] values shared by every section of that file.",
    "A server section takes its value from the section, else from [barman] when the key is \
     inherited, else from the default. `None` or an empty value unsets a key and stops \
     inheritance. Defaults written `%(key)s` are computed from the server's other keys. A \
     section with `model = true` is a model (see barman config-switch); it may set the keys \
     marked model.",
    "Unlike Barman, which warns and falls back to another value, barman stops with an error \
     naming the file, line, section, key and value when a value cannot be parsed. Unknown \
     keys only warn, as in Barman.",
];

const SCOPES: &str = "Scope: server keys are set in a server section; inherited keys may also \
     be set in [barman] as a default for every server; model keys may be overridden by a model.";

#[test]
fn committed_man_pages_match_the_definitions() {
    let dir = man_dir();
    let update = std::env::var_os("BARMAN_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (file, text) in pages() {
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).expect("create man/");
            std::fs::write(&path, &text).expect("write man page");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "man pages {stale:?} differ from the definitions: run BARMAN_UPDATE_MAN=1 cargo test --test man"
    );
}

/// groff's warnings (`-ww`: all of them) would be what `man` hides from a reader: a
/// broken escape, a bad macro, a line that cannot be filled.
#[test]
fn man_pages_render_without_warnings() {
    for (file, text) in pages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(file);
        std::fs::write(&path, &text).expect("write page");
        let out = Command::new("groff")
            .args(["-ww", "-man", "-Tutf8", "-rLL=80n"])
            .arg(&path)
            .output()
            .expect("groff runs (scripts/setup installs it)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{file}: {stderr}"
        );
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .output()
            .expect("man runs (scripts/setup installs man-db)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{file}: {stderr}"
        );
        assert!(!out.stdout.is_empty(), "{file} renders to nothing");
    }
}

/// The commands `barman --help` lists, read from its output (so a command added to the
/// CLI cannot be missing from the page).
fn help_commands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_barman"))
        .arg("--help")
        .output()
        .expect("run barman --help");
    let help = String::from_utf8(out.stdout).expect("utf-8 help");
    let commands = help
        .split_once("Commands:")
        .expect("help has a Commands: block")
        .1;
    commands
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn barman_1_documents_every_command_of_help() {
    let page = barman_1();
    let commands = help_commands();
    assert!(commands.len() > 20, "too few commands read: {commands:?}");
    for command in commands.iter().filter(|c| *c != "help") {
        assert!(
            page.contains(&format!(".SS {command}\n")),
            "barman(1) lacks {command}"
        );
    }
}

#[test]
fn barman_5_documents_every_option_once() {
    let page = barman_5();
    for name in SERVER_OPTIONS
        .iter()
        .map(|o| o.name)
        .chain(GLOBAL_OPTIONS.iter().map(|o| o.name))
    {
        let heading = format!(".TP\n\\fB{}\\fR", name.replace('-', "\\-"));
        assert_eq!(page.matches(&heading).count(), 1, "{name}");
    }
}
