//! The README's first command, `scripts/demo`, run end to end: it must show the recovered
//! cluster holding exactly the rows written before the chosen point in time.

use crate::harness::pg_cluster::pg_available;
use crate::require;

#[test]
fn demo_script_recovers_to_the_point_before_the_mistake() {
    require!("PostgreSQL 15", pg_available());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo");
    let out = std::process::Command::new(script)
        .env("BARMAN_BIN", env!("CARGO_BIN_EXE_barman"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recovered = stdout
        .split("recovered cluster holds:\n")
        .nth(1)
        .expect("the recovered rows are shown");
    let rows: Vec<&str> = recovered.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(
        rows,
        [
            "1|before the backup",
            "2|after the backup, before the mistake"
        ],
        "{stdout}"
    );
    assert!(!stdout.contains("WARNING: No backup strategy"), "{stdout}");
}
