//! Acknowledged household uploads survive SIGKILL: the real `chaski serve`
//! on a GeoPackage store takes a stream of uploads from a CHA token (two
//! households per upload) and is killed with SIGKILL at random moments
//! (seeded), 24 times while uploads stream in and 4 more times while it
//! starts; after each kill `chaski check` passes on the store as the crash
//! left it, and after each restart every upload that got a 2xx answer is
//! present exactly once (read back through the API with the token), every
//! other one is present whole or not at all, never twice. An upload that got
//! no answer is sent again after the restart, as a phone would: the retry
//! updates the record stored before the crash (by its submission id) instead
//! of adding it again. At the end GDAL's `ogrinfo` counts the same households.

use crate::common::{chaski, free_port, http_get, text};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECTOR: &str = "CRASH-S1";
const FACILITY: &str = "CRASH-F1";
const COMMUNITY: &str = "CRASH-CP1";
/// Kills while uploads stream in (the acceptance asks for at least 20).
const KILLS: usize = 24;

/// `POST path` with a body; the status, `None` when the server did not answer
/// (refused, reset or cut off before the whole answer head arrived).
fn http_post(port: u16, path: &str, token: &str, body: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/geo+json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf);
    if !head.contains("\r\n\r\n") {
        return None;
    }
    head.split_whitespace().nth(1)?.parse().ok()
}

/// Send `body`; a 2xx status, or None when the server did not answer.
fn send(port: &AtomicU16, token: &str, body: &str) -> Option<u16> {
    http_post(port.load(Ordering::SeqCst), "/api/households", token, body)
}

/// Upload `n`: two households, `U{n}-A` and `U{n}-B`, each with its own
/// submission id, in the CHA's sector near its community.
fn upload(n: usize) -> String {
    let feature = |suffix: &str, dx: f64| {
        serde_json::json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-74.0 + dx, -13.0 + dx]},
            "properties": {
                "code": format!("U{n}-{suffix}"),
                "submission_uuid": format!("sub-{n}-{suffix}"),
                "community": COMMUNITY,
                "facility": FACILITY,
                "cha_sector": SECTOR,
                "consent": "si",
                "members": 1 + n % 7,
                "gps_accuracy": 4.0,
            }
        })
    };
    serde_json::json!({
        "type": "FeatureCollection",
        "features": [feature("A", 0.0001), feature("B", -0.0001)]
    })
    .to_string()
}

/// Start `chaski serve` on `store` at a new port (published in `port`),
/// without waiting for it.
fn spawn(store: &Path, port: &AtomicU16) -> std::process::Child {
    let p = free_port();
    port.store(p, Ordering::SeqCst);
    Command::new(env!("CARGO_BIN_EXE_chaski"))
        .arg("--store")
        .arg(store)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{p}"),
            "--writes-per-hour",
            "1000000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Wait until the server answers `/health`.
fn wait_ready(child: &mut std::process::Child, port: u16) {
    for _ in 0..3000 {
        if http_get(port, "/health", &[]).is_some_and(|a| a.status == 200) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("chaski serve exited with {status} before answering");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("chaski serve did not answer on port {port}");
}

/// SIGKILL (`Child::kill` on Unix) and reap.
fn kill(child: &mut std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// How many times each household code is stored, read through the API.
fn stored_codes(port: u16, token: &str) -> BTreeMap<String, usize> {
    let auth = format!("Bearer {token}");
    let answer = http_get(port, "/api/households", &[("Authorization", &auth)]).unwrap();
    assert_eq!(answer.status, 200, "{}", text(&answer.body));
    let v: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let mut out = BTreeMap::new();
    for f in v["features"].as_array().unwrap() {
        let code = f["properties"]["code"].as_str().unwrap().to_owned();
        *out.entry(code).or_insert(0) += 1;
    }
    out
}

/// What the client thread did.
#[derive(Default)]
struct Log {
    /// Uploads answered 2xx.
    acked: BTreeSet<usize>,
    /// Uploads sent that got no answer (retried after the restart).
    unanswered: BTreeSet<usize>,
    /// Uploads sent, in all.
    sent: usize,
    /// Retries of uploads that got no answer.
    retries: usize,
    /// Retries answered 200 (updated): the upload had been committed before
    /// the kill, only its answer was lost.
    retries_committed: usize,
    /// Acknowledged uploads sent again after a restart (all answered 200).
    resent: usize,
}

#[test]
fn acknowledged_uploads_survive_sigkill_exactly_once() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("crash.gpkg");
    let csv = dir.path().join("communities.csv");
    std::fs::write(
        &csv,
        format!("codigo,nombre,lat,lon\n{COMMUNITY},Crash Village,-13.0,-74.0\n"),
    )
    .unwrap();
    let out = chaski(
        &store,
        &["import", csv.to_str().unwrap(), "--layer", "communities"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = chaski(
        &store,
        &[
            "places",
            "add",
            "--facility",
            FACILITY,
            "--sector",
            SECTOR,
            "--community",
            COMMUNITY,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = chaski(
        &store,
        &["tokens", "create", "--role", "cha", "--scope", SECTOR],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();

    let port = Arc::new(AtomicU16::new(0));
    let mut child = spawn(&store, &port);
    wait_ready(&mut child, port.load(Ordering::SeqCst));

    // The client: uploads one after another; one that got no answer is sent
    // again first once the server is back.
    let log = Arc::new(Mutex::new(Log::default()));
    let pause = Arc::new(AtomicBool::new(false));
    let idle = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // Set on resuming: the client first sends its last acknowledged upload
    // again (a phone that lost the answer in the crash).
    let resend = Arc::new(AtomicBool::new(false));
    let client = {
        let (log, pause, idle, stop, port, token, resend) = (
            log.clone(),
            pause.clone(),
            idle.clone(),
            stop.clone(),
            port.clone(),
            token.clone(),
            resend.clone(),
        );
        std::thread::spawn(move || {
            let mut next = 0usize;
            let mut pending: Option<usize> = None;
            while !stop.load(Ordering::SeqCst) {
                if pause.load(Ordering::SeqCst) {
                    idle.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                idle.store(false, Ordering::SeqCst);
                if resend.swap(false, Ordering::SeqCst) {
                    let last = log.lock().unwrap().acked.last().copied();
                    if let Some(n) = last {
                        // Committed before: an update, never a new record
                        // (None: this one was cut off by the next kill).
                        match send(&port, &token, &upload(n)) {
                            Some(200) => log.lock().unwrap().resent += 1,
                            None => {}
                            Some(s) => panic!("acknowledged upload {n} sent again: {s}"),
                        }
                    }
                }
                let retry = pending.is_some();
                let n = pending.take().unwrap_or_else(|| {
                    next += 1;
                    next
                });
                let status = send(&port, &token, &upload(n));
                let mut l = log.lock().unwrap();
                l.sent += 1;
                l.retries += usize::from(retry);
                l.retries_committed += usize::from(retry && status == Some(200));
                match status {
                    Some(s) if (200..300).contains(&s) => {
                        l.acked.insert(n);
                        l.unanswered.remove(&n);
                    }
                    Some(s) => panic!("upload {n} answered {s}"),
                    None => {
                        l.unanswered.insert(n);
                        pending = Some(n);
                        drop(l);
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
        })
    };

    // Stop the client at its next request and wait until it is idle.
    let hold = || {
        pause.store(true, Ordering::SeqCst);
        while !idle.load(Ordering::SeqCst) {
            assert!(!client.is_finished(), "the client thread died");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0x00c4_a5c1);
    let mut startup_kills = 0;
    for round in 0..KILLS {
        // Uploads stream in for a random while, then SIGKILL.
        std::thread::sleep(Duration::from_millis(rng.random_range(20..300)));
        kill(&mut child);
        hold();

        // The store as the crash left it (WAL and all) passes the check.
        let out = chaski(&store, &["check"]);
        assert!(
            out.status.success(),
            "round {round}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );

        // Now and then, also kill it while it starts (opening the store).
        if round % 6 == 5 {
            child = spawn(&store, &port);
            std::thread::sleep(Duration::from_millis(rng.random_range(0..40)));
            kill(&mut child);
            startup_kills += 1;
        }

        child = spawn(&store, &port);
        let p = port.load(Ordering::SeqCst);
        wait_ready(&mut child, p);
        let stored = stored_codes(p, &token);
        {
            let l = log.lock().unwrap();
            for n in &l.acked {
                for s in ["A", "B"] {
                    assert_eq!(
                        stored.get(&format!("U{n}-{s}")),
                        Some(&1),
                        "round {round}: acknowledged upload {n} ({s}) is not stored exactly once"
                    );
                }
            }
            for (code, count) in &stored {
                assert_eq!(*count, 1, "round {round}: {code} stored {count} times");
            }
            for n in &l.unanswered {
                // Not acknowledged: whole or not at all.
                let a = stored.contains_key(&format!("U{n}-A"));
                let b = stored.contains_key(&format!("U{n}-B"));
                assert_eq!(a, b, "round {round}: upload {n} half stored");
            }
        }
        resend.store(true, Ordering::SeqCst);
        pause.store(false, Ordering::SeqCst);
    }
    // A last pause: the client's retry is answered, then everything is there once.
    std::thread::sleep(Duration::from_millis(100));
    hold();
    stop.store(true, Ordering::SeqCst);
    client.join().unwrap();
    let stored = stored_codes(port.load(Ordering::SeqCst), &token);
    kill(&mut child);
    let l = log.lock().unwrap();
    assert!(
        l.acked.len() >= KILLS,
        "only {} uploads acknowledged",
        l.acked.len()
    );
    assert!(l.retries > 0, "no upload was ever cut off by a kill");
    assert!(
        l.resent >= KILLS / 2,
        "only {} acknowledged uploads were answered when sent again",
        l.resent
    );
    let expected: BTreeSet<String> = l
        .acked
        .iter()
        .flat_map(|n| [format!("U{n}-A"), format!("U{n}-B")])
        .collect();
    // Every upload was answered in the end (the ones cut off by a kill were
    // sent again): exactly the acknowledged households are stored, once each.
    let got: BTreeSet<String> = stored.keys().cloned().collect();
    assert_eq!(got, expected);
    assert!(stored.values().all(|c| *c == 1));
    let out = chaski(&store, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    // GDAL, the independent reader, counts the same households.
    if chaski_testing::require_tool("ogrinfo") {
        let info = Command::new("ogrinfo")
            .args(["-ro", "-so", store.to_str().unwrap(), "households"])
            .output()
            .unwrap();
        let info = text(&info.stdout);
        assert!(
            info.contains(&format!("Feature Count: {}\n", expected.len())),
            "{info}"
        );
    }
    eprintln!(
        "crash test: {KILLS} kills during uploads and {startup_kills} during start-up, \
         {} uploads sent ({} retries of unanswered ones, {} of them committed before the kill; \
         {} acknowledged ones sent again), {} acknowledged, {} households stored, in {:.1} s",
        l.sent,
        l.retries,
        l.retries_committed,
        l.resent,
        l.acked.len(),
        stored.len(),
        started.elapsed().as_secs_f64()
    );
}
