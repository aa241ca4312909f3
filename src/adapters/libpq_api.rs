//! libpq's functions, loaded at the first connection (`dlopen("libpq.so.5")`) instead of
//! linked: libpq pulls in 22 more libraries (OpenSSL, Kerberos, LDAP, GnuTLS…) whose
//! loading was most of every command's start-up, while most commands (`get-wal`,
//! `put-wal`, `archive-wal`, `list-backups`, `cron` of idle servers) never connect.
//! `pq-sys` still gives the types; none of its functions is referenced, so the linker
//! leaves libpq out of the executable's needs.

use pq_sys::{PGconn, PGresult, PQconninfoOption, PQnoticeProcessor};
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

/// The library loaded: libpq's stable ABI name, as the linker would have recorded it.
const LIBRARY: &str = "libpq.so.5";

/// The libpq functions this crate calls. Enum results (`ConnStatusType`,
/// `ExecStatusType`) are read as `c_int`: a value a newer libpq adds is then a number,
/// not an invalid Rust enum.
#[allow(non_snake_case)]
pub struct Api {
    pub PQconnectdbParams:
        unsafe extern "C" fn(*const *const c_char, *const *const c_char, c_int) -> *mut PGconn,
    pub PQsetNoticeProcessor:
        unsafe extern "C" fn(*mut PGconn, PQnoticeProcessor, *mut c_void) -> PQnoticeProcessor,
    pub PQstatus: unsafe extern "C" fn(*const PGconn) -> c_int,
    pub PQerrorMessage: unsafe extern "C" fn(*const PGconn) -> *mut c_char,
    pub PQserverVersion: unsafe extern "C" fn(*const PGconn) -> c_int,
    pub PQsslInUse: unsafe extern "C" fn(*mut PGconn) -> c_int,
    pub PQconnectionUsedPassword: unsafe extern "C" fn(*const PGconn) -> c_int,
    pub PQexec: unsafe extern "C" fn(*mut PGconn, *const c_char) -> *mut PGresult,
    #[allow(clippy::type_complexity)]
    pub PQexecParams: unsafe extern "C" fn(
        *mut PGconn,
        *const c_char,
        c_int,
        *const c_uint,
        *const *const c_char,
        *const c_int,
        *const c_int,
        c_int,
    ) -> *mut PGresult,
    pub PQresultStatus: unsafe extern "C" fn(*const PGresult) -> c_int,
    pub PQresultErrorField: unsafe extern "C" fn(*const PGresult, c_int) -> *mut c_char,
    pub PQresultErrorMessage: unsafe extern "C" fn(*const PGresult) -> *mut c_char,
    pub PQntuples: unsafe extern "C" fn(*const PGresult) -> c_int,
    pub PQnfields: unsafe extern "C" fn(*const PGresult) -> c_int,
    pub PQgetisnull: unsafe extern "C" fn(*const PGresult, c_int, c_int) -> c_int,
    pub PQgetvalue: unsafe extern "C" fn(*const PGresult, c_int, c_int) -> *mut c_char,
    pub PQclear: unsafe extern "C" fn(*mut PGresult),
    pub PQfinish: unsafe extern "C" fn(*mut PGconn),
    pub PQconninfoParse:
        unsafe extern "C" fn(*const c_char, *mut *mut c_char) -> *mut PQconninfoOption,
    pub PQconninfoFree: unsafe extern "C" fn(*mut PQconninfoOption),
    pub PQfreemem: unsafe extern "C" fn(*mut c_void),
}

/// libpq's `CONNECTION_OK`, `PGRES_COMMAND_OK` and `PGRES_TUPLES_OK`.
pub const CONNECTION_OK: c_int = pq_sys::ConnStatusType::CONNECTION_OK as c_int;
pub const PGRES_COMMAND_OK: c_int = pq_sys::ExecStatusType::PGRES_COMMAND_OK as c_int;
pub const PGRES_TUPLES_OK: c_int = pq_sys::ExecStatusType::PGRES_TUPLES_OK as c_int;

/// The functions, loading libpq on the first call; the error names the library and why
/// it could not be loaded (`libpq.so.5: cannot open shared object file…`).
pub fn api() -> Result<&'static Api, String> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Api, String> {
    // SAFETY: loading libpq runs its initialisers, which have no preconditions.
    let library = unsafe { libloading::Library::new(LIBRARY) }
        .map_err(|e| format!("cannot load the PostgreSQL client library: {e}"))?;
    // Never unloaded: the function pointers below stay valid for the whole process.
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    macro_rules! symbol {
        ($name:ident) => {
            // SAFETY: the field's type is the C prototype of the function of that name in
            // libpq-fe.h (as pq-sys declares it, enums read as c_int).
            *unsafe { library.get(concat!(stringify!($name), "\0").as_bytes()) }
                .map_err(|e| format!("{LIBRARY} lacks {}: {e}", stringify!($name)))?
        };
    }
    Ok(Api {
        PQconnectdbParams: symbol!(PQconnectdbParams),
        PQsetNoticeProcessor: symbol!(PQsetNoticeProcessor),
        PQstatus: symbol!(PQstatus),
        PQerrorMessage: symbol!(PQerrorMessage),
        PQserverVersion: symbol!(PQserverVersion),
        PQsslInUse: symbol!(PQsslInUse),
        PQconnectionUsedPassword: symbol!(PQconnectionUsedPassword),
        PQexec: symbol!(PQexec),
        PQexecParams: symbol!(PQexecParams),
        PQresultStatus: symbol!(PQresultStatus),
        PQresultErrorField: symbol!(PQresultErrorField),
        PQresultErrorMessage: symbol!(PQresultErrorMessage),
        PQntuples: symbol!(PQntuples),
        PQnfields: symbol!(PQnfields),
        PQgetisnull: symbol!(PQgetisnull),
        PQgetvalue: symbol!(PQgetvalue),
        PQclear: symbol!(PQclear),
        PQfinish: symbol!(PQfinish),
        PQconninfoParse: symbol!(PQconninfoParse),
        PQconninfoFree: symbol!(PQconninfoFree),
        PQfreemem: symbol!(PQfreemem),
    })
}
