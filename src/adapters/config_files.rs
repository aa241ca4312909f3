//! Finding and reading Barman's configuration files (the I/O half of `core::config`):
//! the main file from `-c`, `BARMAN_CONFIG_FILE` or the default locations, then every
//! `*.conf` of `configuration_files_directory` in name order, then
//! `<barman_home>/.barman.auto.conf`, and each server's `.active-model.auto`.

use crate::core::config::{self, Config, ConfigError, ConfigText};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Barman's default locations, in search order (`~` is the caller's home).
const DEFAULT_LOCATIONS: [&str; 3] = [
    "~/.barman.conf",
    "/etc/barman.conf",
    "/etc/barman/barman.conf",
];

/// The main configuration file to read.
///
/// # Errors
/// Barman's texts: `Configuration file '<f>' does not exist` for an explicit path, and the
/// two-line "Could not find any configuration file" message when no default exists.
pub fn locate(
    explicit: Option<&Path>,
    env_barman_config_file: Option<&str>,
    home: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    let given = explicit
        .map(Path::to_path_buf)
        .or_else(|| env_barman_config_file.map(PathBuf::from));
    if let Some(path) = given {
        if !path.exists() {
            return Err(ConfigError(format!(
                "Configuration file '{}' does not exist",
                path.display()
            )));
        }
        return Ok(expand_home(&path, home));
    }
    DEFAULT_LOCATIONS
        .iter()
        .map(|p| expand_home(Path::new(p), home))
        .find(|p| p.exists())
        .ok_or_else(|| {
            ConfigError(
                "Could not find any configuration file at default locations.\nCheck Barman's documentation for more help."
                    .into(),
            )
        })
}

fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

fn read(path: &Path, label: String) -> Result<ConfigText, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "{}: cannot read configuration file: {e}",
            path.display()
        ))
    })?;
    Ok(ConfigText { path: label, text })
}

/// Read every file of the configuration rooted at `main` and build it.
///
/// # Errors
/// Unreadable files and everything `core::config::build` refuses.
pub fn load(main: &Path) -> Result<Config, ConfigError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut files = vec![read(main, main.display().to_string())?];
    // The main file alone tells where the includes and barman_home are.
    let first = config::build(&files, &BTreeMap::new(), &|p| p.to_string())?;
    let mut warnings = Vec::new();
    if let Some(dir) = &first.global.configuration_files_directory {
        let dir = expand_home(Path::new(dir), home.as_deref());
        if dir.is_dir() {
            let mut includes: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| ConfigError(format!("{}: cannot list directory: {e}", dir.display())))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|ext| ext == "conf"))
                .collect();
            includes.sort();
            for path in includes {
                if path.is_file() {
                    files.push(read(&path, path.display().to_string())?);
                } else {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    tracing::warn!(target: "barman.config", "Discarding configuration file: {name} (not a file)");
                }
            }
        } else {
            tracing::warn!(
                target: "barman.config",
                "Ignoring the \"configuration_files_directory\" option as \"{}\" is not a directory",
                dir.display()
            );
        }
    }
    let auto = Path::new(&first.global.barman_home).join(".barman.auto.conf");
    if auto.is_file() {
        files.push(read(&auto, auto.display().to_string())?);
    }
    // Servers' active models live in their backup directories; learn those first.
    let without_models = config::build(&files, &BTreeMap::new(), &|p| p.to_string())?;
    let mut active_models = BTreeMap::new();
    for (name, server) in &without_models.servers {
        let file = Path::new(server.backup_dir()).join(".active-model.auto");
        if let Ok(content) = std::fs::read_to_string(&file) {
            active_models.insert(name.clone(), content);
        }
    }
    let mut config = config::build(&files, &active_models, &realpath)?;
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    // Logging starts after the configuration is read: the caller logs these.
    config.included_files = files[1..]
        .iter()
        .map(|f| {
            Path::new(&f.path)
                .file_name()
                .map_or_else(|| f.path.clone(), |n| n.to_string_lossy().into_owned())
        })
        .collect();
    Ok(config)
}

/// `os.path.realpath`: resolve symlinks of the existing prefix, keep the rest as written.
fn realpath(path: &str) -> String {
    let mut existing = PathBuf::from(path);
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_string(),
        }
    }
    let mut resolved = std::fs::canonicalize(&existing).unwrap_or(existing);
    for part in rest.iter().rev() {
        resolved.push(part);
    }
    resolved.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_reports_missing_explicit_file_in_barmans_words() {
        let err = locate(Some(Path::new("/nonexistent/barman.conf")), None, None).unwrap_err();
        assert_eq!(
            err.0,
            "Configuration file '/nonexistent/barman.conf' does not exist"
        );
    }

    #[test]
    fn locate_uses_home_file_first() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".barman.conf"), "[barman]\n").unwrap();
        assert_eq!(
            locate(None, None, Some(home.path())).unwrap(),
            home.path().join(".barman.conf")
        );
    }

    #[test]
    fn load_reads_includes_in_name_order_and_auto_conf() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let include = dir.path().join("barman.d");
        std::fs::create_dir(&include).unwrap();
        let main = dir.path().join("barman.conf");
        std::fs::write(
            &main,
            format!(
                "[barman]\nbarman_home = {}\nconfiguration_files_directory = {}\n",
                home.display(),
                include.display()
            ),
        )
        .unwrap();
        std::fs::write(
            include.join("b.conf"),
            "[b]\nconninfo = x\nssh_command = s\narchiver = on\n",
        )
        .unwrap();
        std::fs::write(
            include.join("a.conf"),
            "[a]\nconninfo = x\nssh_command = s\narchiver = on\n",
        )
        .unwrap();
        std::fs::write(include.join("ignored.txt"), "[c]\n").unwrap();
        std::fs::write(home.join(".barman.auto.conf"), "[a]\nparallel_jobs = 7\n").unwrap();
        let config = load(&main).unwrap();
        assert_eq!(config.servers.keys().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(config.servers["a"].parallel_jobs(), Some(7));
        assert_eq!(
            config.servers["a"].source("conninfo"),
            Some(include.join("a.conf").to_str().unwrap())
        );
    }

    #[test]
    fn realpath_resolves_symlinks_of_existing_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let resolved = realpath(&format!("{}/missing/x", link.display()));
        assert_eq!(
            resolved,
            format!(
                "{}/missing/x",
                std::fs::canonicalize(&real).unwrap().display()
            )
        );
    }
}
