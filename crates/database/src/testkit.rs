//! Test support: every test gets its own database, cloned from a template that was migrated once per
//! migration set, and dropped when the [`TestDb`] is dropped.
//!
//! Environment: `TEST_DATABASE_URL` is a superuser URL of the cluster (scripts/services.sh writes it to
//! `.local/env`). The template is named after a hash of `migrations/`, so a changed migration set builds a new
//! one; it is migrated as the owner role, exactly as production is. Tests connect as the runtime role
//! (row-level security applies) or as the owner.
#![expect(clippy::expect_used, reason = "test support fails loudly")]

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use sha2_free_hash::hash_dir;

use crate::pool::{DbPool, PoolOptions, build_with};

/// The owner role (runs migrations, owns tables, bypasses RLS for maintenance).
pub const OWNER_ROLE: &str = "metachat_owner";
/// The runtime role (row-level security applies).
pub const APP_ROLE: &str = "metachat_app";

/// A throw-away database cloned from the migrated template; dropped (with `FORCE`) on `Drop`.
#[derive(Debug)]
pub struct TestDb {
    name: String,
}

impl TestDb {
    /// Creates a fresh, fully migrated database.
    pub fn new() -> Self {
        let template = template();
        let name = format!("t_{}_{}", unix_now(), uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection();
        sql_query(format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER {OWNER_ROLE}"#))
            .execute(&mut admin)
            .expect("clone the template database");
        Self { name }
    }

    /// Creates an empty database (extension and grants from `template1`, no migrations applied).
    pub fn empty() -> Self {
        let name = format!("t_{}_{}", unix_now(), uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection();
        sql_query(format!(r#"CREATE DATABASE "{name}" OWNER {OWNER_ROLE}"#))
            .execute(&mut admin)
            .expect("create an empty database");
        Self { name }
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL of the runtime role.
    pub fn app_url(&self) -> String {
        url_for(APP_ROLE, &self.name)
    }

    /// URL of the owner role.
    pub fn owner_url(&self) -> String {
        url_for(OWNER_ROLE, &self.name)
    }

    /// URL of the superuser.
    pub fn superuser_url(&self) -> String {
        let (base, _) = split_url(&admin_url());
        format!("{base}/{}", self.name)
    }

    /// A small pool of the runtime role.
    pub fn app_pool(&self) -> DbPool {
        build_with(&self.app_url(), &test_pool_options()).expect("build the app pool")
    }

    /// A small pool of the owner role.
    pub fn owner_pool(&self) -> DbPool {
        build_with(&self.owner_url(), &test_pool_options()).expect("build the owner pool")
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    // A sync connection because Drop cannot await; FORCE closes pools still connected.
    fn drop(&mut self) {
        let Ok(mut admin) = PgConnection::establish(&admin_url()) else {
            return;
        };
        let _ = sql_query(format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name)).execute(&mut admin);
    }
}

fn test_pool_options() -> PoolOptions {
    PoolOptions {
        max_size: 4,
        statement_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(10),
        application_name: "metachat-test".into(),
    }
}

/// The superuser URL from `TEST_DATABASE_URL`.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL must be set (run `bash scripts/services.sh up` and `source .local/env`)")
}

fn admin_connection() -> PgConnection {
    PgConnection::establish(&admin_url()).expect("connect to TEST_DATABASE_URL")
}

/// Splits `postgres://user@host:port/db?query` into (`postgres://user@host:port`, `db?query`).
fn split_url(url: &str) -> (String, String) {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    match url[scheme_end..].find('/') {
        Some(slash) => (url[..scheme_end + slash].to_owned(), url[scheme_end + slash + 1..].to_owned()),
        None => (url.to_owned(), String::new()),
    }
}

/// The cluster URL with another user and database (trust authentication in the test cluster).
pub fn url_for(user: &str, database: &str) -> String {
    let (base, rest) = split_url(&admin_url());
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host = base[scheme_end..].rsplit_once('@').map_or(&base[scheme_end..], |(_, host)| host);
    let query = rest.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{}{user}@{host}/{database}{query}", &base[..scheme_end])
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Name of the migrated template for the current `migrations/`; built once per migration set, under an
/// advisory lock so parallel test processes build it only once.
pub fn template() -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(build_template).clone()
}

fn build_template() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let name = format!("tpl_{}", &hash_dir(&dir)[..16]);
    let mut admin = admin_connection();
    sql_query("SELECT pg_advisory_lock(727274)").execute(&mut admin).expect("take the template lock");
    let exists = sql_query(format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"))
        .execute(&mut admin)
        .expect("look up the template")
        > 0;
    if !exists {
        sweep_stale(&mut admin, &name);
        let building = format!("{name}_building");
        sql_query(format!(r#"DROP DATABASE IF EXISTS "{building}" WITH (FORCE)"#))
            .execute(&mut admin)
            .expect("drop a half-built template");
        sql_query(format!(r#"CREATE DATABASE "{building}" OWNER {OWNER_ROLE}"#))
            .execute(&mut admin)
            .expect("create the template");
        let owner_url = url_for(OWNER_ROLE, &building);
        // TestDb::new() is usually called inside a test's runtime, which cannot block: migrate on a thread
        // with a runtime of its own.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(crate::migrations::run_pending(&owner_url)).expect("migrate the template");
        })
        .join()
        .expect("template migration thread");
        sql_query(format!(r#"ALTER DATABASE "{building}" RENAME TO "{name}""#))
            .execute(&mut admin)
            .expect("publish the template");
    }
    sql_query("SELECT pg_advisory_unlock(727274)").execute(&mut admin).expect("release the template lock");
    name
}

/// Drops templates of other migration sets and test databases older than two hours (crashed runs).
fn sweep_stale(admin: &mut PgConnection, keep: &str) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let rows: Vec<Row> =
        sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'tpl\\_%' OR datname LIKE 't\\_%'")
            .load(admin)
            .unwrap_or_default();
    let cutoff = unix_now().saturating_sub(7200);
    for Row { datname } in rows {
        let stale = if let Some(rest) = datname.strip_prefix("t_") {
            rest.split('_').next().and_then(|t| t.parse::<u64>().ok()).is_some_and(|t| t < cutoff)
        } else {
            datname != keep && !datname.ends_with("_building")
        };
        if stale {
            let _ = sql_query(format!(r#"DROP DATABASE IF EXISTS "{datname}" WITH (FORCE)"#)).execute(admin);
        }
    }
}

/// A dependency-free, stable content hash of a directory tree (FNV-1a over sorted paths and contents):
/// enough to tell migration sets apart.
mod sha2_free_hash {
    use std::path::{Path, PathBuf};

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    pub(super) fn hash_dir(dir: &Path) -> String {
        let mut paths = Vec::new();
        files(dir, &mut paths);
        paths.sort();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                hash ^= u64::from(*b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for path in paths {
            feed(path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().as_bytes());
            feed(&std::fs::read(&path).unwrap_or_default());
        }
        let mut out = String::new();
        let _ = write!(out, "{hash:016x}");
        out
    }

    use std::fmt::Write as _;
}

pub mod seed;
pub mod tcp_proxy;
