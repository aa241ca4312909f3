//! `identity.json`: the PostgreSQL system id and major version a server's catalog belongs
//! to, written as Python's `json.dump(indent=4, sort_keys=True)` plus a newline.

use serde::{Deserialize, Serialize};

/// The content of `<backup_directory>/identity.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `pg_control_system().system_identifier` as text.
    pub systemid: String,
    /// Major version (`"15"`, or `"9.6"` style before 10).
    pub version: String,
}

impl Identity {
    /// Parse the file's text.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The file's bytes, as Barman writes them.
    pub fn to_text(&self) -> String {
        format!(
            "{{\n    \"systemid\": {},\n    \"version\": {}\n}}\n",
            serde_json::Value::String(self.systemid.clone()),
            serde_json::Value::String(self.version.clone())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_barmans_file_byte_for_byte() {
        for sample in [
            include_str!("../../tests/fixtures/barman-3.20/catalog/pg.identity.json"),
            include_str!("../../tests/fixtures/barman-3.20/catalog/pgr.identity.json"),
        ] {
            assert_eq!(Identity::parse(sample).unwrap().to_text(), sample);
        }
    }
}
