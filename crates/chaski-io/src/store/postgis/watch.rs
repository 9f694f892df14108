//! Learning of other replicas' writes: a thread with a connection of its own
//! listens on [`super::CHANNEL`] and polls the data version every [`POLL`]
//! (the fallback when a notification is lost or the listener reconnects).

use super::{CHANNEL, Names, read_version};
use postgres::NoTls;
use postgres::fallible_iterator::FallibleIterator;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::Duration;

/// How often the listener reads the version even without a notification.
pub const POLL: Duration = Duration::from_secs(1);

/// The newest data version seen, and the listener thread once started.
pub struct Watch {
    config: postgres::Config,
    names: Names,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    version: u64,
    started: bool,
}

impl Watch {
    pub fn new(config: postgres::Config, names: Names, version: u64) -> Self {
        Self {
            config,
            names,
            state: Mutex::new(State {
                version,
                started: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Wait until the version seen passes `since`, at most `timeout`; the version then.
    pub fn wait(self: &Arc<Self>, since: u64, timeout: Duration) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.started {
            state.started = true;
            let weak = Arc::downgrade(self);
            let config = self.config.clone();
            let names = self.names.clone();
            let spawned = std::thread::Builder::new()
                .name("chaski-pg-listen".into())
                .spawn(move || listen(&weak, &config, &names));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the PostGIS listener");
                state.started = false;
            }
        }
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.version <= since)
            .unwrap_or_else(PoisonError::into_inner);
        state.version
    }

    fn publish(&self, version: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.version != version {
            state.version = version;
            self.changed.notify_all();
        }
    }
}

/// The version in a notification's payload `SCHEMA VERSION`, when it is ours.
fn payload_version(payload: &str, schema: &str) -> Option<u64> {
    let (s, v) = payload.split_once(' ')?;
    if s == schema { v.parse().ok() } else { None }
}

/// The listener: runs until the store is dropped, reconnecting after errors.
fn listen(weak: &Weak<Watch>, config: &postgres::Config, names: &Names) {
    loop {
        if weak.strong_count() == 0 {
            return;
        }
        let mut client = match config.connect(NoTls) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "PostGIS listener cannot connect; retrying");
                std::thread::sleep(POLL);
                continue;
            }
        };
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
            tracing::warn!(error = %e, "PostGIS listener: LISTEN failed; retrying");
            std::thread::sleep(POLL);
            continue;
        }
        loop {
            let Some(watch) = weak.upgrade() else { return };
            match read_version(&mut client, names) {
                Ok(v) => watch.publish(v),
                Err(e) => {
                    tracing::warn!(error = %e, "PostGIS listener: version poll failed; reconnecting");
                    break;
                }
            }
            drop(watch);
            let got = {
                let mut notes = client.notifications();
                let mut it = notes.timeout_iter(POLL);
                let mut newest = None;
                let mut failed = false;
                loop {
                    match it.next() {
                        Ok(Some(n)) => {
                            newest = payload_version(n.payload(), &names.schema);
                            if newest.is_some() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                if failed { Err(()) } else { Ok(newest) }
            };
            match got {
                Ok(Some(v)) => {
                    if let Some(watch) = weak.upgrade() {
                        watch.publish(v);
                    }
                }
                Ok(None) => {}
                Err(()) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_their_schema() {
        assert_eq!(payload_version("chaski 42", "chaski"), Some(42));
        assert_eq!(payload_version("other 42", "chaski"), None);
        assert_eq!(payload_version("chaski x", "chaski"), None);
    }
}
