//! Unit tests of the JSON changes, their validation, the target file and the queue text.

use super::*;

fn known() -> (impl Fn(&str) -> bool, impl Fn(&str) -> bool) {
    (|n: &str| n == "pg", |n: &str| n == "pg:fast")
}

fn check(json: &str) -> Result<Vec<ValidSection>, Vec<String>> {
    let (is_server, is_model) = known();
    let known = Known {
        is_server: &is_server,
        is_model: &is_model,
    };
    parse_changes(json)
        .expect("a list of objects")
        .iter()
        .map(|s| validate(s, &known))
        .collect()
}

#[test]
fn changes_keep_key_order_in_the_python_repr() {
    let sections =
        parse_changes(r#"[{"scope":"x","server_name":"pg","n":1,"b":true,"z":null}]"#).unwrap();
    assert_eq!(
        sections[0].repr(),
        "{'scope': 'x', 'server_name': 'pg', 'n': 1, 'b': True, 'z': None}"
    );
}

#[test]
fn changes_of_another_shape_fail_as_python_does() {
    let err = |j: &str| parse_changes(j).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"scope":"server"}"#),
        "'str' object has no attribute 'pop'"
    );
    assert_eq!(err("[1]"), "'int' object has no attribute 'pop'");
    assert_eq!(err("[null]"), "'NoneType' object has no attribute 'pop'");
    assert_eq!(err("[[1]]"), "pop expected at most 1 argument, got 2");
    assert_eq!(err("5"), "'int' object is not iterable");
    assert!(matches!(
        parse_changes("not json"),
        Err(ChangesError::Json(_))
    ));
    assert_eq!(parse_changes("[]").unwrap(), Vec::new());
    assert_eq!(parse_changes("{}").unwrap(), Vec::new());
}

#[test]
fn validation_messages_are_barmans() {
    let lines = |j: &str| check(j).unwrap_err();
    assert_eq!(
        lines(r#"[{"scope":"x","server_name":"pg"}]"#),
        vec![
            "Invalid section {'scope': 'x', 'server_name': 'pg'}: 'scope' is invalid: 'x'. It should be either 'server' or 'model'.".to_string(),
            "Aborting config\u{2010}update: invalid section {'scope': 'x', 'server_name': 'pg'}".to_string(),
        ]
    );
    assert_eq!(
        lines(r#"[{"scope":"server"}]"#)[0],
        "Invalid section {'scope': 'server'}: 'server_name' is missing."
    );
    assert_eq!(
        lines(r#"[{"scope":"server","server_name":"pg:fast"}]"#)[0],
        "Invalid section {'scope': 'server', 'server_name': 'pg:fast'}: 'pg:fast' is a model, not a server."
    );
    assert_eq!(
        lines(r#"[{"scope":"model","model_name":"pg"}]"#)[0],
        "Invalid section {'scope': 'model', 'model_name': 'pg'}: 'pg' is a server, not a model."
    );
    assert_eq!(
        lines(r#"[{"scope":"model","model_name":"new"}]"#)[0],
        "Invalid section {'scope': 'model', 'model_name': 'new'}: new model but 'cluster' is missing."
    );
    assert_eq!(
        lines(r#"[{"scope":"server","server_name":"pg","bogus":"1"}]"#)[0],
        "Invalid option 'bogus' for server 'pg'"
    );
    assert_eq!(
        lines(r#"[{"scope":"server","server_name":"pg","archiver":"maybe"}]"#)[0],
        "Validation failed for server 'pg': key 'archiver' -> Invalid boolean representation (must be one in: true|t|yes|1|on | false|f|no|0|off)"
    );
    assert_eq!(
        lines(r#"[{"scope":"model","model_name":"pg:fast","backup_directory":"/x"}]"#)[0],
        "Invalid option 'backup_directory' for model 'pg:fast'"
    );
}

#[test]
fn validation_refuses_what_would_block_the_queue_or_the_loader() {
    let first = |j: &str| check(j).unwrap_err()[0].clone();
    assert!(
        first(r#"[{"scope":"server","server_name":"pg","parallel_jobs":3}]"#)
            .ends_with("-> the value must be a string")
    );
    assert!(
        first(r#"[{"scope":"server","server_name":"pg","description":"a\nb"}]"#)
            .ends_with("-> the value must be on one line")
    );
    assert!(
        first(r#"[{"scope":"server","server_name":"pg","retention_policy":"bad"}]"#)
            .starts_with("Validation failed for server 'pg': key 'retention_policy' -> ")
    );
    assert!(
        first(r#"[{"scope":"server","server_name":"pg","description":"100%"}]"#)
            .contains("'%' must be followed by")
    );
    assert!(
        check(r#"[{"scope":"server","server_name":"pg","description":"100%% %(name)s"}]"#).is_ok()
    );
    assert!(
        first(r#"[{"scope":"server","server_name":"barman","compression":"gzip"}]"#)
            .ends_with("'barman' cannot be used as a section name.")
    );
}

#[test]
fn validation_keeps_order_and_adds_model_on_to_a_new_model() {
    let sections = check(
        r#"[{"scope":"server","server_name":"pg","parallel_jobs":"3","description":""},
            {"scope":"model","model_name":"new:m","cluster":"pg","parallel_jobs":"9"}]"#,
    )
    .unwrap();
    assert_eq!(
        sections[0].options,
        vec![
            ("parallel_jobs".to_string(), "3".to_string()),
            ("description".to_string(), String::new())
        ]
    );
    assert_eq!(sections[1].name, "new:m");
    assert_eq!(
        sections[1].options.last().unwrap(),
        &("model".to_string(), "on".to_string())
    );
}

#[test]
fn target_file_follows_the_effective_value() {
    let auto = "/h/.barman.auto.conf";
    let sources = |own, global, section_file| Sources {
        own,
        global,
        section_file,
        auto_conf: auto,
    };
    assert_eq!(
        target_file(sources(Some("/a.conf"), Some("/m"), Some("/a.conf"))),
        "/a.conf"
    );
    assert_eq!(target_file(sources(None, Some("/m"), Some("/m"))), "/m");
    assert_eq!(target_file(sources(None, Some("/m"), None)), "/m");
    assert_eq!(target_file(sources(None, Some("/m"), Some(auto))), "/m");
    assert_eq!(
        target_file(sources(None, Some("/m"), Some("/d/pg.conf"))),
        "/d/pg.conf"
    );
    assert_eq!(target_file(sources(None, None, Some("/m"))), auto);
}

#[test]
fn queue_text_is_pythons_json_dump_with_indent_2() {
    let queue = vec![ChangeSet {
        section: "pg".into(),
        changes_set: vec![Change {
            key: "description".into(),
            value: "caf\u{e9} \u{1f600}".into(),
            config_file: "barman.conf".into(),
        }],
    }];
    let text = queue_to_text(&queue);
    assert_eq!(
        text,
        "[\n  {\n    \"section\": \"pg\",\n    \"changes_set\": [\n      {\n        \"key\": \"description\",\n        \"value\": \"caf\\u00e9 \\ud83d\\ude00\",\n        \"config_file\": \"barman.conf\"\n      }\n    ]\n  }\n]"
    );
    assert_eq!(queue_from_text(&text).unwrap(), queue);
    assert_eq!(queue_to_text(&[]), "[]");
    assert!(queue_from_text("").is_none());
}
