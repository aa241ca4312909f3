//! argparse's abbreviated long options (`allow_abbrev`, on in every Barman parser): any
//! unambiguous prefix of a long option stands for it (`--reuse` for `--reuse-backup`,
//! `--nag` for `--nagios`), and an ambiguous one is a usage error naming the candidates.
//!
//! clap's `infer_long_args` is not used: it matches an option's aliases as one candidate
//! (argparse counts every option string, so `--colo` is ambiguous between `--color` and
//! `--colour`), and our global options, accepted after the command too, would make
//! `receive-wal --d` ambiguous between `--debug` and `--drop-slot` where argparse's
//! sub-parser only knows `--drop-slot`. Instead the command line is rewritten before clap
//! sees it, following CPython 3.12's `ArgumentParser._parse_optional`:
//!
//! 1. the top-level parser looks at every argument: a prefix matching more than one of
//!    *its* option strings is an error, even after the command name;
//! 2. the command's parser then resolves the argument among the command's own options;
//! 3. a prefix of a global option given after the command (which argparse refuses and we
//!    accept) is expanded when the command has no match.
//!
//! Command names are never abbreviated (argparse does not abbreviate sub-parsers).

use clap::error::ErrorKind;
use clap::{Arg, Command};
use std::ffi::OsString;

/// How many values an option consumes from the following argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    One,
    /// `nargs='?'`: the next argument, unless it looks like an option.
    Optional,
}

fn takes(arg: &Arg) -> Takes {
    if !arg.get_action().takes_values() {
        return Takes::Nothing;
    }
    match arg.get_num_args() {
        Some(range) if range.min_values() == 0 => Takes::Optional,
        _ => Takes::One,
    }
}

/// One parser's option strings, in argparse's order (`-h/--help` first, then as defined).
struct Options {
    longs: Vec<(String, Takes)>,
    shorts: Vec<(char, Takes)>,
}

impl Options {
    fn of(cmd: &Command, own_only: bool) -> Options {
        let mut args: Vec<&Arg> = cmd
            .get_arguments()
            .filter(|a| !(own_only && a.is_global_set()))
            .collect();
        args.sort_by_key(|a| a.get_id() != "help");
        let mut options = Options {
            longs: Vec::new(),
            shorts: Vec::new(),
        };
        for arg in args {
            let value = takes(arg);
            let longs = arg.get_long().into_iter();
            let aliases = arg.get_all_aliases().unwrap_or_default();
            for long in longs.chain(aliases) {
                options.longs.push((format!("--{long}"), value));
            }
            let shorts = arg.get_short().into_iter();
            let short_aliases = arg.get_all_short_aliases().unwrap_or_default();
            for short in shorts.chain(short_aliases) {
                options.shorts.push((short, value));
            }
        }
        options
    }

    fn exact(&self, name: &str) -> Option<Takes> {
        self.longs.iter().find(|(l, _)| l == name).map(|(_, t)| *t)
    }

    fn matching(&self, prefix: &str) -> Vec<&(String, Takes)> {
        self.longs
            .iter()
            .filter(|(l, _)| l.starts_with(prefix))
            .collect()
    }

    fn short(&self, c: char) -> Option<Takes> {
        self.shorts.iter().find(|(s, _)| *s == c).map(|(_, t)| *t)
    }
}

/// What a `--name[=value]` argument resolves to in one parser.
enum Resolved {
    Unknown,
    Found(String),
    Ambiguous(String),
}

fn resolve(options: &Options, name: &str) -> Resolved {
    if options.exact(name).is_some() {
        return Resolved::Found(name.to_string());
    }
    match options.matching(name).as_slice() {
        [] => Resolved::Unknown,
        [(full, _)] => Resolved::Found(full.clone()),
        many => Resolved::Ambiguous(
            many.iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

fn ambiguous(cmd: &Command, option: &str, matches: &str) -> clap::Error {
    cmd.clone().error(
        ErrorKind::UnknownArgument,
        format!("ambiguous option: {option} could match {matches}"),
    )
}

/// The parsing state while walking the arguments.
struct Walk<'a> {
    root: &'a Command,
    root_options: Options,
    sub: Option<(&'a Command, Options)>,
    pending: Takes,
    verbatim: bool,
}

impl<'a> Walk<'a> {
    fn long(&self, arg: &str) -> Result<String, clap::Error> {
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg, None),
        };
        let resolved = match &self.sub {
            None => match resolve(&self.root_options, name) {
                Resolved::Ambiguous(list) => return Err(ambiguous(self.root, arg, &list)),
                other => other,
            },
            Some((sub, own)) => {
                if let Resolved::Ambiguous(list) = resolve(&self.root_options, name) {
                    return Err(ambiguous(self.root, arg, &list));
                }
                match resolve(own, name) {
                    Resolved::Ambiguous(list) => return Err(ambiguous(sub, arg, &list)),
                    Resolved::Unknown => resolve(&self.root_options, name),
                    found => found,
                }
            }
        };
        Ok(match (resolved, value) {
            (Resolved::Found(full), Some(v)) => format!("{full}={v}"),
            (Resolved::Found(full), None) => full,
            _ => arg.to_string(),
        })
    }

    fn takes_of_long(&self, full: &str) -> Takes {
        let own = self.sub.as_ref().and_then(|(_, o)| o.exact(full));
        own.or_else(|| self.root_options.exact(full))
            .unwrap_or(Takes::Nothing)
    }

    /// A cluster of short options (`-qd`, `-cFILE`, `-j 4`): only what follows matters.
    fn shorts(&self, arg: &str) -> Takes {
        let mut chars = arg.chars().skip(1).peekable();
        while let Some(c) = chars.next() {
            let own = self.sub.as_ref().and_then(|(_, o)| o.short(c));
            match own.or_else(|| self.root_options.short(c)) {
                Some(Takes::Nothing) => continue,
                Some(t) if chars.peek().is_none() => return t,
                _ => return Takes::Nothing,
            }
        }
        Takes::Nothing
    }

    fn step(&mut self, arg: OsString) -> Result<OsString, clap::Error> {
        let Some(text) = arg.to_str() else {
            self.pending = Takes::Nothing;
            return Ok(arg);
        };
        let pending = std::mem::replace(&mut self.pending, Takes::Nothing);
        let is_option = text.starts_with('-') && text.len() > 1;
        if self.verbatim || pending == Takes::One || (pending == Takes::Optional && !is_option) {
            return Ok(arg);
        }
        if text == "--" {
            self.verbatim = true;
            return Ok(arg);
        }
        if text.starts_with("--") {
            let expanded = self.long(text)?;
            if !expanded.contains('=') {
                self.pending = self.takes_of_long(&expanded);
            }
            return Ok(expanded.into());
        }
        if is_option {
            self.pending = self.shorts(text);
            return Ok(arg);
        }
        if self.sub.is_none() && self.root.has_subcommands() {
            match self.root.find_subcommand(text) {
                Some(sub) => self.sub = Some((sub, Options::of(sub, true))),
                None => self.verbatim = true,
            }
        }
        Ok(arg)
    }
}

/// Rewrite `args` (program name first) so every abbreviated long option is spelled in
/// full, for a built `cmd`.
///
/// # Errors
/// argparse's "ambiguous option: --X could match --A, --B" usage error (exit code 2).
pub fn expand(cmd: &Command, args: Vec<OsString>) -> Result<Vec<OsString>, clap::Error> {
    let mut walk = Walk {
        root: cmd,
        root_options: Options::of(cmd, false),
        sub: None,
        pending: Takes::Nothing,
        verbatim: false,
    };
    let mut iter = args.into_iter();
    let mut out: Vec<OsString> = iter.next().into_iter().collect();
    for arg in iter {
        out.push(walk.step(arg)?);
    }
    Ok(out)
}

/// Parse the process arguments as argparse would, abbreviations included; usage errors
/// print clap's message and exit 2 (argparse's code).
pub fn parse<P: clap::Parser>() -> P {
    parse_with(P::command())
}

/// [`parse`] with a command tree adjusted after derivation (help layout): `P` is built
/// from the matches of `cmd`.
pub fn parse_with<P: clap::FromArgMatches>(mut cmd: Command) -> P {
    cmd.build();
    let args = expand(&cmd, std::env::args_os().collect()).unwrap_or_else(|e| e.exit());
    let mut matches = cmd
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| e.exit());
    P::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut cmd).exit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command as Cmd};
    use clap::Parser;

    fn expanded(args: &[&str]) -> Result<Vec<String>, String> {
        let mut cmd = crate::cli::command();
        cmd.build();
        let args = args.iter().map(OsString::from).collect();
        expand(&cmd, args)
            .map(|v| v.into_iter().map(|a| a.into_string().unwrap()).collect())
            .map_err(|e| {
                assert_eq!(e.exit_code(), 2);
                e.to_string().lines().next().unwrap_or_default().to_string()
            })
    }

    fn parsed(args: &[&str]) -> Cli {
        Cli::try_parse_from(expanded(args).unwrap()).unwrap()
    }

    #[test]
    fn abbrev_expands_unambiguous_prefixes_of_command_options() {
        match parsed(&["barman", "backup", "--reuse", "copy", "pg"]).command {
            Some(Cmd::Backup(b)) => {
                assert_eq!(b.reuse_backup, Some(crate::cli::ReuseBackupArg::Copy))
            }
            other => panic!("{other:?}"),
        }
        match parsed(&[
            "barman",
            "recover",
            "--remote-ssh",
            "ssh db",
            "pg",
            "latest",
            "/d",
        ])
        .command
        {
            Some(Cmd::Restore(r)) => assert_eq!(r.remote_ssh_command.as_deref(), Some("ssh db")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parsed(&["barman", "list-servers", "--min"]).command,
            Some(Cmd::ListServers(crate::cli::ListServersArgs {
                minimal: true
            }))
        ));
        match parsed(&["barman", "check", "--nag", "pg"]).command {
            Some(Cmd::Check(c)) => assert!(c.nagios),
            other => panic!("{other:?}"),
        }
        // `=value`, a value that looks like a prefix, global options before the command.
        assert_eq!(
            expanded(&[
                "barman",
                "--conf=/x",
                "--log",
                "INFO",
                "backup",
                "--reuse=link",
                "--name",
                "--nag",
                "pg"
            ])
            .unwrap(),
            [
                "barman",
                "--config=/x",
                "--log-level",
                "INFO",
                "backup",
                "--reuse-backup=link",
                "--name",
                "--nag",
                "pg"
            ]
        );
        // Without a value `--reuse-backup` takes none and the server name stays positional.
        assert_eq!(
            expanded(&["barman", "backup", "--reuse", "pg"]).unwrap(),
            ["barman", "backup", "--reuse-backup", "pg"]
        );
        // A command's own option wins over a global given after the command; `--` ends it.
        assert_eq!(
            expanded(&["barman", "receive-wal", "--d", "pg", "--", "--d"]).unwrap(),
            ["barman", "receive-wal", "--drop-slot", "pg", "--", "--d"]
        );
    }

    #[test]
    fn abbrev_ambiguous_prefixes_get_argparse_error() {
        assert_eq!(
            expanded(&["barman", "backup", "--no", "pg"]).unwrap_err(),
            "error: ambiguous option: --no could match --no-immediate-checkpoint, --no-retry, --no-manifest"
        );
        // The top-level parser looks at every argument (CPython 3.12's argparse).
        assert_eq!(
            expanded(&["barman", "check", "--c", "5", "pg"]).unwrap_err(),
            "error: ambiguous option: --c could match --config, --color, --colour"
        );
        assert_eq!(
            expanded(&["barman", "--colo", "never", "list-servers"]).unwrap_err(),
            "error: ambiguous option: --colo could match --color, --colour"
        );
    }

    #[test]
    fn abbrev_never_abbreviates_command_names() {
        assert_eq!(
            expanded(&["barman", "list-ser", "--min"]).unwrap(),
            ["barman", "list-ser", "--min"]
        );
        assert!(Cli::try_parse_from(["barman", "list-ser"]).is_err());
    }

    #[test]
    fn abbrev_works_for_the_wal_clients() {
        use crate::clients::{wal_archive, wal_restore};
        let mut restore = <wal_restore::Args as clap::CommandFactory>::command();
        restore.build();
        let args = [
            "barman-wal-restore",
            "--spool",
            "/s",
            "--keep",
            "h",
            "pg",
            "w",
            "d",
        ];
        let out = expand(&restore, args.iter().map(OsString::from).collect()).unwrap();
        let parsed = wal_restore::Args::try_parse_from(out).unwrap();
        assert_eq!(parsed.spool_dir, std::path::PathBuf::from("/s"));
        assert!(parsed.keep_compression);
        let err = expand(
            &restore,
            ["barman-wal-restore", "--pa", "2", "h", "pg", "w", "d"]
                .iter()
                .map(OsString::from)
                .collect(),
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("error: ambiguous option: --pa could match --parallel, --partial"));
        let mut archive = <wal_archive::Args as clap::CommandFactory>::command();
        archive.build();
        let args = [
            "barman-wal-archive",
            "--compression",
            "9",
            "--zs",
            "h",
            "pg",
            "w",
        ];
        let out = expand(&archive, args.iter().map(OsString::from).collect()).unwrap();
        assert!(wal_archive::Args::try_parse_from(out).is_ok());
    }
}
