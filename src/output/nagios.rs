//! `check --nagios`: the Nagios plugin summary Barman's `NagiosOutputWriter` prints when
//! it closes (first line `BARMAN OK - …` or `BARMAN CRITICAL - …`, then one line per
//! failed check). Pure: it turns recorded check results into lines.

/// One recorded check result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NagiosItem {
    /// The server checked.
    pub server: String,
    /// The check name.
    pub check: String,
    /// True when it passed.
    pub ok: bool,
    /// The hint, if any.
    pub hint: Option<String>,
    /// Performance data in bytes (`backup minimum size`, `wal size`).
    pub perfdata: Option<u64>,
}

fn push_unique(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|s| s == name) {
        list.push(name.to_string());
    }
}

/// The lines Barman prints for `items`; `error_occurred` is Barman's global flag (set by
/// errors and by failures of active servers). Returns the lines and whether the plugin
/// state is CRITICAL (exit code 2).
pub fn render(items: &[NagiosItem], error_occurred: bool) -> (Vec<String>, bool) {
    let mut servers = Vec::new();
    let mut issues = Vec::new();
    let mut perf = Vec::new();
    for item in items {
        push_unique(&mut servers, &item.server);
        if !item.ok {
            push_unique(&mut issues, &item.server);
        }
        let value = item.perfdata.unwrap_or(0);
        match item.check.as_str() {
            "backup minimum size" => perf.push(format!("{}={value}B", item.server)),
            "wal size" => perf.push(format!("{}_wals={value}B", item.server)),
            _ => {}
        }
    }
    let perf_text = if perf.is_empty() {
        String::new()
    } else {
        format!("|{}", perf.join(" "))
    };
    if issues.is_empty() && error_occurred {
        return (
            vec!["BARMAN CRITICAL - Global configuration errors".into()],
            true,
        );
    }
    if !issues.is_empty() && error_occurred {
        return (failure(items, &servers, &issues, &perf_text), true);
    }
    let ignoring: String = issues.iter().map(|s| format!(" * IGNORING: {s}")).collect();
    let good: Vec<&String> = servers.iter().filter(|s| !issues.contains(s)).collect();
    let line = match good.as_slice() {
        [] => format!("BARMAN OK - No server configured{ignoring}"),
        [one] => format!("BARMAN OK - Ready to serve the Espresso backup for {one}{ignoring}{perf_text}"),
        many => format!(
            "BARMAN OK - Ready to serve the Espresso backup for {} servers * {}{ignoring}{perf_text}",
            many.len(),
            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" * ")
        ),
    };
    (vec![line], false)
}

fn failure(items: &[NagiosItem], servers: &[String], issues: &[String], perf: &str) -> Vec<String> {
    let mut summary = Vec::new();
    let mut details = Vec::new();
    for server in issues {
        let failed: Vec<&NagiosItem> = items
            .iter()
            .filter(|i| &i.server == server && !i.ok)
            .collect();
        let names: Vec<&str> = failed.iter().map(|i| i.check.as_str()).collect();
        summary.push(format!("{server} FAILED: {}", names.join(", ")));
        for item in failed {
            let mut line = format!("{server}.{}: FAILED", item.check);
            if let Some(hint) = item.hint.as_deref().filter(|h| !h.is_empty()) {
                line.push_str(&format!(" ({hint})"));
            }
            details.push(line);
        }
    }
    let first = if servers.len() == 1 {
        format!(
            "BARMAN CRITICAL - server {} has issues * {}{perf}",
            servers[0],
            summary.join(" * ")
        )
    } else {
        format!(
            "BARMAN CRITICAL - {} server out of {} have issues * {}{perf}",
            issues.len(),
            servers.len(),
            summary.join(" * ")
        )
    };
    std::iter::once(first).chain(details).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(
        server: &str,
        check: &str,
        ok: bool,
        hint: Option<&str>,
        perf: Option<u64>,
    ) -> NagiosItem {
        NagiosItem {
            server: server.into(),
            check: check.into(),
            ok,
            hint: hint.map(str::to_string),
            perfdata: perf,
        }
    }

    #[test]
    fn nagios_ok_for_two_servers_with_perfdata() {
        let items = vec![
            item("pg", "backup minimum size", true, None, Some(33747824)),
            item("pg", "wal size", true, None, Some(66126)),
            item("pgr", "backup minimum size", true, None, Some(33609502)),
            item("pgr", "wal size", true, None, Some(0)),
        ];
        let (lines, critical) = render(&items, false);
        assert!(!critical);
        assert_eq!(lines, vec!["BARMAN OK - Ready to serve the Espresso backup for 2 servers * pg * pgr|pg=33747824B pg_wals=66126B pgr=33609502B pgr_wals=0B"]);
    }

    #[test]
    fn nagios_critical_lists_failures_with_hints() {
        let items = vec![
            item("pgr", "backup minimum size", true, None, Some(33609502)),
            item("pgr", "wal size", true, None, Some(16453)),
            item(
                "pgr",
                "failed backups",
                false,
                Some("there are 1 failed backups"),
                None,
            ),
        ];
        let (lines, critical) = render(&items, true);
        assert!(critical);
        assert_eq!(
            lines,
            vec![
                "BARMAN CRITICAL - server pgr has issues * pgr FAILED: failed backups|pgr=33609502B pgr_wals=16453B",
                "pgr.failed backups: FAILED (there are 1 failed backups)",
            ]
        );
    }

    #[test]
    fn nagios_ignores_inactive_failures_and_reports_global_errors() {
        let items = vec![item("old", "PostgreSQL", false, None, None)];
        let (lines, critical) = render(&items, false);
        assert!(!critical);
        assert_eq!(
            lines,
            vec!["BARMAN OK - No server configured * IGNORING: old"]
        );
        let (lines, critical) = render(&[], true);
        assert!(critical);
        assert_eq!(lines, vec!["BARMAN CRITICAL - Global configuration errors"]);
    }
}
