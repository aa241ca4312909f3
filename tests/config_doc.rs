//! `doc/configuration.md` is generated from the option table in
//! `src/core/config/options.rs`; this test fails when the committed page drifts from it.
//! Regenerate with `BARMAN_UPDATE_DOCS=1 cargo test --test config_doc`.

use barman::core::config::options::{GLOBAL_OPTIONS, SERVER_OPTIONS};
use std::path::Path;

fn render() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from src/core/config/options.rs by tests/config_doc.rs: do not edit. -->\n\n\
         `barman` reads the same files as Barman 3.20: the main file (`-c`, `BARMAN_CONFIG_FILE`,\n\
         `~/.barman.conf`, `/etc/barman.conf` or `/etc/barman/barman.conf`), then every `*.conf`\n\
         file of `configuration_files_directory` in name order, then `<barman_home>/.barman.auto.conf`.\n\
         Files use Python `ConfigParser` syntax: `key = value` or `key: value`, `#`/`;` comment\n\
         lines, indented continuation lines, `%(key)s` interpolation within a section of one file,\n\
         `[DEFAULT]` values shared by every section of that file.\n\n\
         A server section takes its value from the section, else from `[barman]` when the key is\n\
         *inherited*, else from the default. `None` or an empty value unsets a key and stops\n\
         inheritance. Defaults written `%(key)s` are computed from the server's other keys.\n\
         A section with `model = true` is a model (see `config-switch`); it may set the keys marked\n\
         *model*.\n\n\
         Unlike Barman, which warns and falls back to another value, `barman` stops with an error\n\
         naming the file, line, section, key and value when a value cannot be parsed, when a\n\
         retention policy has an unknown syntax, or when one server is defined in two files.\n\
         Unknown keys only warn, as in Barman.\n\n\
         ## Global options (`[barman]` only)\n\n\
         | key | default | description |\n|---|---|---|\n",
    );
    for option in GLOBAL_OPTIONS {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            option.name,
            option.default.map_or("–".to_string(), |d| format!("`{d}`")),
            option.doc
        ));
    }
    out.push_str(
        "\n## Server options\n\n\
         Scope: *server* keys are set in a server section; *inherited* keys may also be set in\n\
         `[barman]` as a default for every server; *model* keys may be overridden by a model.\n\n\
         | key | type | default | scope | description |\n|---|---|---|---|---|\n",
    );
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
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            option.name,
            option.kind.describe().replace('|', "\\|"),
            option.default.map_or("–".to_string(), |d| format!("`{d}`")),
            scope.join(", "),
            option.doc.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn configuration_doc_matches_the_option_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/configuration.md");
    let expected = render();
    if std::env::var_os("BARMAN_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write doc/configuration.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "doc/configuration.md is out of date: run BARMAN_UPDATE_DOCS=1 cargo test --test config_doc"
    );
}

#[test]
fn configuration_doc_lists_every_key_once() {
    let doc = render();
    for option in SERVER_OPTIONS {
        assert_eq!(
            doc.matches(&format!("| `{}` |", option.name)).count(),
            1,
            "{}",
            option.name
        );
    }
}
