//! Barman's `utils.edit_config`: set `key = value` in `[section]` of a configuration
//! file's text, keeping every other byte. The rules are Barman's: the first `[section]`
//! header opens the section; a line of it that starts with `key=` (spaces ignored) is
//! replaced; otherwise the line is added at the end of the section; a missing section is
//! appended with the line.
//!
//! Fixed here, on purpose (Barman 3.20.1 corrupts or loses the change):
//! * a new key in a section directly followed by another section: Barman inserts
//!   `key = value` without a newline before the section's last line (`[pw]\na = 1\n[o]` +
//!   `b=2` → `[pw]\nb = 2a = 1\n[o]`); we add the line after the section's last line;
//! * a section header on the file's last line: Barman drops the change; we append it;
//! * a file whose last line lacks its newline: Barman glues the new text to it; we first
//!   end that line.
//!
//! Where Barman does not corrupt anything (the usual blank line between sections, a
//! replaced line, the last section), the result is byte-identical to Barman's.

/// `text` with `key = value` set in `[section]`.
pub fn edit(text: &str, section: &str, key: &str, value: &str) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let new_line = format!("{key} = {value}\n");
    let header = format!("[{section}]");
    let key_prefix = format!("{key}=");
    let mut opened_at: Option<usize> = None;
    let mut done = false;
    for idx in 0..lines.len() {
        let stripped = lines[idx].trim();
        if let Some(header_idx) = opened_at {
            if stripped.starts_with('[') {
                insert_before_next_section(&mut lines, header_idx, idx, &new_line);
                done = true;
                break;
            }
            if stripped.replace(' ', "").starts_with(&key_prefix) {
                lines[idx] = new_line.clone();
                done = true;
                break;
            }
            if idx == lines.len() - 1 {
                append(&mut lines, new_line.clone());
                done = true;
                break;
            }
        }
        if stripped == header {
            opened_at = Some(idx);
        }
    }
    match (opened_at, done) {
        (None, _) => {
            append(&mut lines, format!("{header}\n"));
            lines.push(new_line);
        }
        // The header was the last line.
        (Some(_), false) => append(&mut lines, new_line),
        (Some(_), true) => {}
    }
    lines.concat()
}

/// Barman inserts the text (without newline) in place of the line before the next header:
/// harmless when that line is blank (its newline ends the new line), corrupting otherwise.
/// We do the same in the harmless case and insert a whole line before the header otherwise.
fn insert_before_next_section(
    lines: &mut Vec<String>,
    header_idx: usize,
    next_idx: usize,
    new_line: &str,
) {
    let before = next_idx - 1;
    if before > header_idx && lines[before].trim().is_empty() {
        lines.insert(before, new_line.trim_end_matches('\n').to_string());
    } else {
        lines.insert(next_idx, new_line.to_string());
    }
}

/// Append a line, first ending the last line when the file lacks a final newline.
fn append(lines: &mut Vec<String>, line: String) {
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push('\n');
        }
    }
    lines.push(line);
}

#[cfg(test)]
mod tests {
    use super::edit;

    #[test]
    fn editor_replaces_an_existing_line_in_place() {
        let text = "[barman]\nx = 1\n[pg]\na = 1\nparallel_jobs = 2\nb = 3\n";
        assert_eq!(
            edit(text, "pg", "parallel_jobs", "4"),
            "[barman]\nx = 1\n[pg]\na = 1\nparallel_jobs = 4\nb = 3\n"
        );
    }

    #[test]
    fn editor_matches_the_key_with_spaces_removed_in_its_section_only() {
        let text = "[a]\nk = 1\n[pg]\n  k   =  2\n";
        assert_eq!(edit(text, "pg", "k", "9"), "[a]\nk = 1\n[pg]\nk = 9\n");
    }

    #[test]
    fn editor_appends_to_the_last_section() {
        assert_eq!(
            edit("[pg]\na = 1\n", "pg", "b", "2"),
            "[pg]\na = 1\nb = 2\n"
        );
    }

    #[test]
    fn editor_uses_the_blank_line_before_the_next_section_as_barman() {
        // Byte-identical to Barman: the blank line's newline ends the new line.
        assert_eq!(
            edit("[pg]\na = 1\n\n[o]\nc = 3\n", "pg", "b", "2"),
            "[pg]\na = 1\nb = 2\n[o]\nc = 3\n"
        );
    }

    #[test]
    fn editor_does_not_corrupt_a_section_followed_by_another() {
        // Barman 3.20.1 writes "[pw]\nb = 2a = 1\n[other]\n".
        assert_eq!(
            edit("[pw]\na = 1\n[other]\n", "pw", "b", "2"),
            "[pw]\na = 1\nb = 2\n[other]\n"
        );
        assert_eq!(
            edit("[pw]\n[other]\n", "pw", "b", "2"),
            "[pw]\nb = 2\n[other]\n"
        );
    }

    #[test]
    fn editor_appends_a_new_section() {
        assert_eq!(edit("", "pg", "a", "1"), "[pg]\na = 1\n");
        assert_eq!(
            edit("[x]\ny = 2\n", "pg", "a", "1"),
            "[x]\ny = 2\n[pg]\na = 1\n"
        );
    }

    #[test]
    fn editor_keeps_the_change_when_the_header_is_the_last_line() {
        assert_eq!(edit("[x]\n[pg]\n", "pg", "a", "1"), "[x]\n[pg]\na = 1\n");
    }

    #[test]
    fn editor_ends_a_last_line_lacking_its_newline() {
        assert_eq!(edit("[pg]\na = 1", "pg", "b", "2"), "[pg]\na = 1\nb = 2\n");
        assert_eq!(
            edit("[x]\ny = 1", "pg", "b", "2"),
            "[x]\ny = 1\n[pg]\nb = 2\n"
        );
    }

    #[test]
    fn editor_edits_the_first_of_repeated_sections() {
        assert_eq!(
            edit("[pg]\na = 1\n\n[o]\n[pg]\nb = 1\n", "pg", "b", "5"),
            "[pg]\na = 1\nb = 5\n[o]\n[pg]\nb = 1\n"
        );
    }
}
