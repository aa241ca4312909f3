//! libpq itself (loaded at the first connection, see [`super::libpq_api`]): every PostgreSQL connection Barman opens goes through
//! libpq (psycopg2 wraps it), so ours do too. That is what makes `conninfo` behave exactly
//! as operators expect: every keyword and URI form, `service` files, `.pgpass` /
//! `PGPASSFILE` / `passfile` (with libpq's permission and wildcard rules), every `PG*`
//! environment variable, `sslmode=prefer` by default, SCRAM and md5, multiple hosts,
//! `target_session_attrs`, and libpq's own error texts, which Barman prints verbatim.
//!
//! This module owns the unsafe FFI and nothing else: queries use the simple protocol and
//! return text (as Barman's queries are read), one connection per value of [`Connection`].

use super::libpq_api::{self, Api};
use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr::NonNull;

/// A failed connection: the first line of libpq's message (`connection to server at "…"
/// failed: …`), stripped, as Barman's `PostgresConnectionError` renders it (the hint
/// lines libpq adds go to the debug log only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// libpq's text.
    pub message: String,
}

/// A failed statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// The SQLSTATE, when the server sent one.
    pub sqlstate: Option<String>,
    /// The server's primary message (`replication slot "x" does not exist`), or libpq's
    /// text when the failure happened on the client side.
    pub message: String,
}

/// Rows of a result, every column as text (`None` for NULL).
pub type Rows = Vec<Vec<Option<String>>>;

/// One open connection (closed on drop).
pub struct Connection {
    raw: NonNull<pq_sys::PGconn>,
    api: &'static Api,
}

// SAFETY: a PGconn may be used from any thread as long as one thread at a time does; the
// `&mut self` receivers make that so.
unsafe impl Send for Connection {}

/// What kind of session to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular SQL session (Barman's `PostgreSQLConnection`).
    Regular,
    /// A physical replication session (Barman's `StreamingConnection`: `replication=true`,
    /// `dbname=replication`, `options=-cdatestyle=iso`, overriding the conninfo's own).
    Replication,
}

fn cstring(text: &str) -> Result<CString, ConnectError> {
    CString::new(text).map_err(|_| ConnectError {
        message: "connection string contains a NUL byte".into(),
    })
}

/// The first line of `text`, stripped (Barman's `PostgresConnectionError.__str__`).
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// Text of a C string libpq owns (empty for NULL).
///
/// # Safety
/// `ptr` is NULL or a valid NUL-terminated string that outlives the call.
unsafe fn text_of(ptr: *const c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        CStr::from_ptr(ptr).to_string_lossy().into_owned()
    }
}

/// libpq's default notice processor prints the server's NOTICEs (such as
/// `pg_stop_backup`'s "all required WAL segments have been archived") on stderr; psycopg2
/// collects them in `connection.notices` and Barman never shows them: only logged here.
unsafe extern "C" fn log_notice(_arg: *mut std::ffi::c_void, message: *const c_char) {
    // SAFETY: libpq hands a NUL-terminated message valid for the duration of the call.
    let text = unsafe { text_of(message) };
    tracing::debug!(target: "barman.postgres", "server notice: {text}");
}

impl Connection {
    /// Open a connection. `conninfo` is expanded as libpq expands a `dbname` holding a
    /// connection string or URI; the overrides of `kind` come after it and so win.
    pub fn open(conninfo: &str, kind: Kind) -> Result<Connection, ConnectError> {
        let mut pairs: Vec<(&str, &str)> = vec![("dbname", conninfo)];
        if kind == Kind::Replication {
            pairs.extend([
                ("replication", "true"),
                ("options", "-cdatestyle=iso"),
                ("dbname", "replication"),
            ]);
        }
        tracing::debug!(
            target: "barman.postgres",
            "connecting to PostgreSQL ({kind:?}): {}",
            redacted(conninfo)
        );
        // psycopg2 parses the DSN before connecting and reports a bad one as
        // `invalid dsn: <libpq's message>`; Barman shows that text.
        let api = loaded()?;
        parse_conninfo(conninfo).map_err(|e| ConnectError {
            message: first_line(&format!("invalid dsn: {}", e.message)),
        })?;
        let keywords: Vec<CString> = pairs
            .iter()
            .map(|(k, _)| cstring(k))
            .collect::<Result<_, _>>()?;
        let values: Vec<CString> = pairs
            .iter()
            .map(|(_, v)| cstring(v))
            .collect::<Result<_, _>>()?;
        let mut keyword_ptrs: Vec<*const c_char> = keywords.iter().map(|k| k.as_ptr()).collect();
        let mut value_ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
        keyword_ptrs.push(std::ptr::null());
        value_ptrs.push(std::ptr::null());
        // SAFETY: both arrays are NULL-terminated and their strings outlive the call.
        let raw = unsafe { (api.PQconnectdbParams)(keyword_ptrs.as_ptr(), value_ptrs.as_ptr(), 1) };
        let Some(raw) = NonNull::new(raw) else {
            return Err(ConnectError {
                message: "out of memory allocating the connection".into(),
            });
        };
        let connection = Connection { raw, api };
        // SAFETY: `raw` is a live PGconn; the processor takes no argument.
        unsafe {
            (api.PQsetNoticeProcessor)(
                connection.raw.as_ptr(),
                Some(log_notice),
                std::ptr::null_mut(),
            );
        }
        // SAFETY: `raw` is a live PGconn.
        let status = unsafe { (api.PQstatus)(connection.raw.as_ptr()) };
        if status != libpq_api::CONNECTION_OK {
            let full = connection.error_message();
            tracing::debug!(target: "barman.postgres", "connection failed: {full}");
            return Err(ConnectError {
                message: first_line(&full),
            });
        }
        tracing::debug!(
            target: "barman.postgres",
            "connected: server version {}, TLS {}, password used {}",
            connection.server_version(),
            if connection.ssl_in_use() { "on" } else { "off" },
            connection.password_used()
        );
        Ok(connection)
    }

    /// libpq's last error text, trimmed.
    fn error_message(&self) -> String {
        // SAFETY: live PGconn; the message is owned by it and copied at once.
        unsafe { text_of((self.api.PQerrorMessage)(self.raw.as_ptr())) }
            .trim()
            .to_string()
    }

    /// `PQserverVersion` (e.g. 150018), which is what psycopg2's `server_version` returns.
    pub fn server_version(&self) -> i64 {
        // SAFETY: live PGconn.
        i64::from(unsafe { (self.api.PQserverVersion)(self.raw.as_ptr()) })
    }

    /// True when the connection is encrypted with TLS.
    pub fn ssl_in_use(&self) -> bool {
        // SAFETY: live PGconn.
        unsafe { (self.api.PQsslInUse)(self.raw.as_ptr()) == 1 }
    }

    /// True when the server asked for a password and libpq sent one.
    pub fn password_used(&self) -> bool {
        // SAFETY: live PGconn.
        unsafe { (self.api.PQconnectionUsedPassword)(self.raw.as_ptr()) == 1 }
    }

    /// Run `sql` (one or more statements, simple protocol) and return the rows of the
    /// last result.
    pub fn query(&mut self, sql: &str) -> Result<Rows, QueryError> {
        let sql_c = CString::new(sql).map_err(|_| QueryError {
            sqlstate: None,
            message: "query contains a NUL byte".into(),
        })?;
        tracing::debug!(target: "barman.postgres", "query: {sql}");
        // SAFETY: live PGconn and a NUL-terminated query.
        let result = unsafe { (self.api.PQexec)(self.raw.as_ptr(), sql_c.as_ptr()) };
        self.take_result(result)
    }

    /// Run `sql` with `$1…` text parameters (extended protocol; not on a replication
    /// connection).
    pub fn query_params(&mut self, sql: &str, params: &[&str]) -> Result<Rows, QueryError> {
        let invalid = |_| QueryError {
            sqlstate: None,
            message: "query contains a NUL byte".into(),
        };
        let sql_c = CString::new(sql).map_err(invalid)?;
        let values: Vec<CString> = params
            .iter()
            .map(|p| CString::new(*p))
            .collect::<Result<_, _>>()
            .map_err(invalid)?;
        let ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
        let count = c_int::try_from(ptrs.len()).map_err(|_| QueryError {
            sqlstate: None,
            message: "too many parameters".into(),
        })?;
        tracing::debug!(target: "barman.postgres", "query: {sql} {params:?}");
        // SAFETY: live PGconn; `ptrs` holds `count` NUL-terminated strings that outlive
        // the call; NULL types/lengths/formats mean "infer, text".
        let result = unsafe {
            (self.api.PQexecParams)(
                self.raw.as_ptr(),
                sql_c.as_ptr(),
                count,
                std::ptr::null(),
                ptrs.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                0,
            )
        };
        self.take_result(result)
    }

    /// Read and free a PGresult.
    fn take_result(&mut self, result: *mut pq_sys::PGresult) -> Result<Rows, QueryError> {
        let Some(result) = NonNull::new(result) else {
            return Err(QueryError {
                sqlstate: None,
                message: self.error_message(),
            });
        };
        let api = self.api;
        let guard = ResultGuard(result, api);
        let res = guard.0.as_ptr();
        // SAFETY: `res` is a live PGresult until `guard` drops.
        let status = unsafe { (api.PQresultStatus)(res) };
        match status {
            libpq_api::PGRES_TUPLES_OK | libpq_api::PGRES_COMMAND_OK => {
                // SAFETY: as above; indexes are within PQntuples × PQnfields.
                Ok(unsafe { rows_of(api, res) })
            }
            _ => {
                // SAFETY: as above.
                let (sqlstate, primary, full) = unsafe {
                    (
                        text_of((api.PQresultErrorField)(res, c_int::from(b'C'))),
                        text_of((api.PQresultErrorField)(res, c_int::from(b'M'))),
                        text_of((api.PQresultErrorMessage)(res)),
                    )
                };
                let message = if primary.is_empty() {
                    full.trim().to_string()
                } else {
                    primary
                };
                tracing::debug!(target: "barman.postgres", "query failed: {message}");
                Err(QueryError {
                    sqlstate: (!sqlstate.is_empty()).then_some(sqlstate),
                    message,
                })
            }
        }
    }
}

/// Every row of a successful result as text.
///
/// # Safety
/// `res` is a live PGresult.
unsafe fn rows_of(api: &Api, res: *const pq_sys::PGresult) -> Rows {
    let rows = (api.PQntuples)(res);
    let fields = (api.PQnfields)(res);
    (0..rows)
        .map(|r| {
            (0..fields)
                .map(|f| {
                    if (api.PQgetisnull)(res, r, f) == 1 {
                        None
                    } else {
                        Some(text_of((api.PQgetvalue)(res, r, f)))
                    }
                })
                .collect()
        })
        .collect()
}

struct ResultGuard(NonNull<pq_sys::PGresult>, &'static Api);

impl Drop for ResultGuard {
    fn drop(&mut self) {
        // SAFETY: the result is freed once, here.
        unsafe { (self.1.PQclear)(self.0.as_ptr()) }
    }
}

/// libpq's functions, or why the library could not be loaded, as a connection error.
fn loaded() -> Result<&'static Api, ConnectError> {
    libpq_api::api().map_err(|message| ConnectError { message })
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: the connection is closed once, here.
        unsafe { (self.api.PQfinish)(self.raw.as_ptr()) }
    }
}

/// The keywords a connection string sets, as libpq parses it (`PQconninfoParse`): every
/// form libpq accepts, with libpq's own message for one it refuses
/// (`invalid connection option "x"`, `missing "=" after …`).
pub fn parse_conninfo(conninfo: &str) -> Result<Vec<(String, String)>, ConnectError> {
    let api = loaded()?;
    let text = cstring(conninfo)?;
    let mut error: *mut c_char = std::ptr::null_mut();
    // SAFETY: `text` is NUL-terminated; `error` receives a malloc'd message or stays NULL.
    let options = unsafe { (api.PQconninfoParse)(text.as_ptr(), &mut error) };
    if options.is_null() {
        // SAFETY: `error` is NULL or a message we must free with PQfreemem.
        let message = unsafe {
            let message = text_of(error);
            if !error.is_null() {
                (api.PQfreemem)(error.cast());
            }
            message
        };
        return Err(ConnectError {
            message: message.trim().to_string(),
        });
    }
    let mut pairs = Vec::new();
    // SAFETY: libpq returns an array terminated by an entry whose keyword is NULL; it is
    // freed once with PQconninfoFree after being read.
    unsafe {
        let mut entry = options;
        while !(*entry).keyword.is_null() {
            if !(*entry).val.is_null() {
                pairs.push((text_of((*entry).keyword), text_of((*entry).val)));
            }
            entry = entry.add(1);
        }
        (api.PQconninfoFree)(options);
    }
    Ok(pairs)
}

/// A connection string for a child program (`pg_basebackup`, `pg_receivewal`) that
/// carries no password: the password, if the conninfo has one, is handed to the child in
/// `PGPASSWORD`, so it never shows in `ps`. Keywords are quoted as libpq reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildConninfo {
    /// The conninfo for the child's argv.
    pub conninfo: String,
    /// The password to pass in the child's environment.
    pub password: Option<String>,
}

/// Split the password out of `conninfo` (see [`ChildConninfo`]). The rest is written back
/// as `key='value'` pairs, so a URI becomes a string Barman's ` application_name=…`
/// suffix can be appended to. A conninfo libpq cannot parse is passed through unchanged,
/// so the child reports libpq's error itself.
pub fn child_conninfo(conninfo: &str) -> ChildConninfo {
    let Ok(pairs) = parse_conninfo(conninfo) else {
        return ChildConninfo {
            conninfo: conninfo.to_string(),
            password: None,
        };
    };
    let mut password = None;
    let mut parts = Vec::new();
    for (key, value) in pairs {
        if key == "password" {
            password = Some(value);
        } else {
            parts.push(format!("{key}={}", quote_value(&value)));
        }
    }
    ChildConninfo {
        conninfo: parts.join(" "),
        password,
    }
}

/// `conninfo` for a log line: parsed by libpq, the password hidden.
pub fn redacted(conninfo: &str) -> String {
    match parse_conninfo(conninfo) {
        Ok(pairs) => pairs
            .iter()
            .map(|(k, v)| {
                if k == "password" {
                    format!("{k}=*REDACTED*")
                } else {
                    format!("{k}={}", quote_value(v))
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("(invalid conninfo: {e})"),
    }
}

/// A conninfo value in single quotes, `\` and `'` escaped (libpq's rules).
pub fn quote_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_conninfo_reads_keywords_and_uris() {
        let pairs = parse_conninfo("host=a port=5433 user='b c' dbname=d").expect("parse");
        assert!(pairs.contains(&("user".into(), "b c".into())));
        assert!(pairs.contains(&("port".into(), "5433".into())));
        let pairs = parse_conninfo("postgresql://u@h:6000/db?sslmode=require").expect("uri");
        assert!(pairs.contains(&("sslmode".into(), "require".into())));
        assert!(pairs.contains(&("host".into(), "h".into())));
    }

    #[test]
    fn parse_conninfo_gives_libpq_messages() {
        let err = parse_conninfo("host=a bogus=1").expect_err("unknown keyword");
        assert_eq!(err.message, "invalid connection option \"bogus\"");
        let err = parse_conninfo("host").expect_err("no =");
        assert_eq!(
            err.message,
            "missing \"=\" after \"host\" in connection info string"
        );
    }

    #[test]
    fn child_conninfo_moves_the_password_out_of_argv() {
        let child = child_conninfo("host=h user=u password='s3 cr\\'t' dbname=replication");
        assert_eq!(child.password.as_deref(), Some("s3 cr't"));
        assert!(!child.conninfo.contains("s3"), "{}", child.conninfo);
        let reparsed = parse_conninfo(&child.conninfo).expect("reparse");
        assert!(reparsed.contains(&("user".into(), "u".into())));
        let plain = child_conninfo("host=h user=u");
        assert_eq!(plain.conninfo, "user='u' host='h'");
        assert_eq!(plain.password, None);
        let uri = child_conninfo("postgresql://u:pw@h:6000/db?sslmode=require");
        assert_eq!(uri.password.as_deref(), Some("pw"));
        assert_eq!(
            uri.conninfo,
            "user='u' dbname='db' host='h' port='6000' sslmode='require'"
        );
    }

    #[test]
    fn quote_value_escapes_as_libpq_reads() {
        let text = format!("password={}", quote_value("a'b\\c d"));
        let pairs = parse_conninfo(&text).expect("parse");
        assert_eq!(
            pairs,
            vec![("password".to_string(), "a'b\\c d".to_string())]
        );
    }
}
