//! The integrity check of a store file (SQLite's `PRAGMA quick_check`, which
//! reads the whole file) and its verdict.
//!
//! When opening needs no write of its own, the check runs on a second
//! connection in a thread of its own, while the caller goes on: a store
//! answers nothing before the check has passed. Every read returns its result
//! only after the verdict (a failed check is returned instead of the data),
//! and every write starts only after it, so nothing is ever read from a store
//! that fails the check, and nothing is written into one; the first read
//! simply overlaps with the check instead of waiting for it.

use super::error::GpkgError;
use super::sql_functions::register_functions;
use chaski_core::store::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// `PRAGMA quick_check(1)` on `conn`: Ok when the file is sound.
pub(super) fn quick_check(conn: &Connection) -> Result<(), GpkgError> {
    let first: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if first == "ok" {
        Ok(())
    } else {
        Err(GpkgError::Corrupt(format!(
            "integrity check failed: {first}"
        )))
    }
}

/// The check on a connection of its own (same busy timeout and SQL functions
/// as the store's connection).
fn check_file(path: &Path) -> Result<(), GpkgError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    register_functions(&conn)?;
    quick_check(&conn)
}

enum State {
    /// The check is running in this thread.
    Running(JoinHandle<Result<(), GpkgError>>),
    /// The file passed (or was not checked: larger than the limit).
    Passed,
    /// The file failed: every later call returns this error again.
    Failed(StoreError),
}

/// The integrity check of one open store: running, passed or failed.
pub(super) struct Check {
    state: Mutex<State>,
}

impl Check {
    /// A file that passed (or needs no check).
    pub(super) fn passed() -> Self {
        Self {
            state: Mutex::new(State::Passed),
        }
    }

    /// Start the check of the file at `path` in a thread (run here when no
    /// thread can be started).
    pub(super) fn start(path: &Path) -> Self {
        let owned = path.to_owned();
        let state = match std::thread::Builder::new()
            .name("chaski-gpkg-check".into())
            .spawn(move || check_file(&owned))
        {
            Ok(handle) => State::Running(handle),
            Err(_) => match check_file(path) {
                Ok(()) => State::Passed,
                Err(e) => State::Failed(e.into_store(path)),
            },
        };
        Self {
            state: Mutex::new(state),
        }
    }

    /// Wait for the verdict: Ok once the file passed, else the check's error
    /// (each time it is asked).
    pub(super) fn verdict(&self, path: &Path) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let current = std::mem::replace(&mut *state, State::Passed);
        *state = match current {
            State::Running(handle) => match handle.join() {
                Ok(Ok(())) => State::Passed,
                Ok(Err(e)) => State::Failed(e.into_store(path)),
                Err(_) => State::Failed(StoreError::Backend(format!(
                    "{}: the integrity check stopped unexpectedly",
                    path.display()
                ))),
            },
            done => done,
        };
        match &*state {
            State::Running(_) | State::Passed => Ok(()),
            State::Failed(e) => Err(again(e)),
        }
    }
}

impl Drop for Check {
    fn drop(&mut self) {
        // Never leave the check's thread reading a file its store let go of.
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let State::Running(handle) = std::mem::replace(state, State::Passed) {
            let _ = handle.join();
        }
    }
}

/// The same error again (errors are not `Clone`).
fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::Corrupt { path, reason } => StoreError::Corrupt {
            path: path.clone(),
            reason: reason.clone(),
        },
        StoreError::Backend(msg) => StoreError::Backend(msg.clone()),
        other => StoreError::Backend(other.to_string()),
    }
}
