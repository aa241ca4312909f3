//! Shell completions are generated from the clap definitions and committed under
//! `completions/` for packagers. This test fails when they drift from the CLI; regenerate
//! with `BARMAN_UPDATE_COMPLETIONS=1 cargo test --test completions`.

use clap_complete::{generate, Shell};
use std::path::Path;

#[test]
fn committed_completions_match_the_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("BARMAN_UPDATE_COMPLETIONS").is_some();
    let mut stale = Vec::new();
    for (shell, file) in [
        (Shell::Bash, "barman.bash"),
        (Shell::Zsh, "_barman"),
        (Shell::Fish, "barman.fish"),
    ] {
        let mut cmd = barman::cli::command();
        let mut generated = Vec::new();
        generate(shell, &mut cmd, "barman", &mut generated);
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).expect("create completions dir");
            std::fs::write(&path, &generated).expect("write completions");
        } else if std::fs::read(&path).ok().as_deref() != Some(&generated[..]) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "completions {stale:?} differ from the CLI: run BARMAN_UPDATE_COMPLETIONS=1 cargo test --test completions"
    );
}

#[test]
fn completions_offer_only_supported_commands() {
    let mut cmd = barman::cli::command();
    let mut generated = Vec::new();
    generate(Shell::Bash, &mut cmd, "barman", &mut generated);
    let text = String::from_utf8(generated).expect("utf-8");
    assert!(text.contains("list-servers"));
    assert!(
        !text.contains("barman__backup"),
        "unsupported command offered"
    );
}
