//! `chaski serve` is self-contained: started from an empty folder it serves the
//! built-in styles, the catalog lists them and the viewer loads; `--styles DIR`
//! replaces them, and a missing or empty `--styles` folder is an error at start.
//! A config file (`--config`) and `CHASKI_<KEY>` set the server, an unknown key
//! is refused at start; SIGTERM lets a request in flight finish, then exits.

use crate::common::{Server, free_port, http_get, text};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

/// Start `chaski --store STORE serve --listen 127.0.0.1:PORT EXTRA...` in `cwd`
/// and wait until it answers `/health`.
fn serve(cwd: &Path, store: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chaski"));
    cmd.current_dir(cwd)
        .arg("--store")
        .arg(store)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra);
    Server::start(cmd, port)
}

/// `GET path`: the status and the body.
fn get(server: &Server, path: &str) -> Option<(u16, Vec<u8>)> {
    http_get(server.port, path, &[]).map(|a| (a.status, a.body))
}

fn json(server: &Server, path: &str) -> serde_json::Value {
    let (status, body) = get(server, path).unwrap();
    assert_eq!(status, 200, "{path}: {}", text(&body));
    serde_json::from_slice(&body).unwrap()
}

/// A small store (one facility) in its own folder.
fn small_store(dir: &Path) -> std::path::PathBuf {
    let csv = dir.join("f.csv");
    std::fs::write(
        &csv,
        "codigo,nombre,categoria,lat,lon\nA,Posta A,I-1,-13.0,-74.0\nB,Centro B,I-3,-12.9,-74.1\n",
    )
    .unwrap();
    let store = dir.join("s.gpkg");
    let out = crate::common::chaski(
        &store,
        &["import", csv.to_str().unwrap(), "--layer", "facilities"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    store
}

#[test]
fn serve_from_an_empty_folder_serves_the_built_in_styles_and_the_viewer() {
    let data = tempfile::tempdir().unwrap();
    let store = small_store(data.path());
    let empty = tempfile::tempdir().unwrap();
    let server = serve(empty.path(), &store, &[]);

    let style = json(&server, "/styles/default.json");
    assert_eq!(style["version"], 8);
    let url = style["sources"]["chaski"]["url"].as_str().unwrap();
    assert!(url.contains("/tiles/facilities.json?v="), "{url}");
    let catalog = json(&server, "/catalog");
    let styles = catalog["styles"].as_array().unwrap();
    assert!(
        styles
            .iter()
            .any(|s| s.as_str().unwrap().ends_with("/styles/default.json")),
        "{styles:?}"
    );
    let (status, html) = get(&server, "/").unwrap();
    assert_eq!(status, 200);
    let html = text(&html);
    assert!(html.contains("<html lang=\"es\">") && html.contains("/viewer/app.js"));
    for asset in ["app.js", "i18n.js", "app.css", "maplibre-gl.js"] {
        let (status, body) = get(&server, &format!("/viewer/{asset}")).unwrap();
        assert_eq!(status, 200, "{asset}");
        assert!(!body.is_empty(), "{asset}");
    }
    let entries: Vec<_> = std::fs::read_dir(empty.path()).unwrap().collect();
    assert!(entries.is_empty(), "serve wrote into its working folder");
}

#[test]
fn a_styles_folder_replaces_the_built_in_styles_and_must_hold_styles() {
    let data = tempfile::tempdir().unwrap();
    let store = small_store(data.path());
    let mine = data.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(
        mine.join("plain.json"),
        r#"{"version": 8, "name": "plain", "sources": {}, "layers": []}"#,
    )
    .unwrap();
    let server = serve(data.path(), &store, &["--styles", "mine"]);
    assert_eq!(json(&server, "/styles/plain.json")["name"], "plain");
    assert_eq!(get(&server, "/styles/default.json").unwrap().0, 404);
    let catalog = json(&server, "/catalog");
    assert_eq!(catalog["styles"].as_array().unwrap().len(), 1);
    drop(server);

    // A missing folder and a folder without styles are refused at start, naming them.
    std::fs::create_dir(data.path().join("empty")).unwrap();
    for (dir, says) in [("nope", "does not exist"), ("empty", "holds no style")] {
        let out = Command::new(env!("CARGO_BIN_EXE_chaski"))
            .current_dir(data.path())
            .arg("--store")
            .arg(&store)
            .args(["serve", "--listen", "127.0.0.1:0", "--styles", dir])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("the styles folder {dir} {says}")),
            "{stderr}"
        );
    }
}

#[test]
fn a_config_file_and_the_environment_set_the_server() {
    let data = tempfile::tempdir().unwrap();
    let store = small_store(data.path());
    let file = data.path().join("chaski.toml");
    std::fs::write(
        &file,
        "max_zoom = 10\nmetrics_token = \"m-secret\"\nrequest_timeout_secs = 20\n",
    )
    .unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chaski"));
    cmd.arg("--store")
        .arg(&store)
        .args(["serve", "--config"])
        .arg(&file)
        // The environment beats the file; the flag beats both.
        .env("CHASKI_MAX_ZOOM", "12")
        .env("CHASKI_LISTEN", "127.0.0.1:1")
        .args(["--listen", &format!("127.0.0.1:{port}")]);
    let server = Server::start(cmd, port);
    assert_eq!(
        get(&server, "/tiles/facilities/12/1195/2174").unwrap().0 / 100,
        2
    );
    assert_eq!(
        get(&server, "/tiles/facilities/13/2390/4348").unwrap().0,
        400
    );
    assert_eq!(get(&server, "/metrics").unwrap().0, 401);
    let m = http_get(port, "/metrics", &[("Authorization", "Bearer m-secret")]).unwrap();
    assert_eq!(m.status, 200);
    assert!(text(&m.body).contains("chaski_http_requests_total"));
    assert_eq!(json(&server, "/ready")["status"], "ready");
}

#[test]
fn an_unknown_key_in_the_config_file_is_refused_naming_it_and_the_file() {
    let data = tempfile::tempdir().unwrap();
    let store = small_store(data.path());
    let file = data.path().join("chaski.toml");
    std::fs::write(&file, "cache_mb = 64\ncache_megabytes = 64\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chaski"))
        .arg("--store")
        .arg(&store)
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cache_megabytes"), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits() {
    let data = tempfile::tempdir().unwrap();
    let store = small_store(data.path());
    let mut server = serve(
        data.path(),
        &store,
        &["--shutdown-drain-secs", "30", "--log-format", "json"],
    );
    let body = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[-74.0,-13.0]}}]}"#;
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        conn,
        "POST /api/catchments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/geo+json\r\nContent-Length: {}\r\nx-request-id: slow-1\r\n\r\n",
        body.len()
    )
    .unwrap();
    // Half the body now: the request is in flight, its handler reading the body.
    let (first, rest) = body.split_at(30);
    conn.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    server.terminate();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        server.wait_exit(std::time::Duration::ZERO).is_none(),
        "the server exited with a request in flight"
    );
    assert!(
        http_get(server.port, "/health", &[]).is_none(),
        "a new connection was taken after SIGTERM"
    );
    // The rest of the body: the request is answered in full.
    conn.write_all(rest.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading the answer: {e}"),
        }
    }
    let answer = text(&answer);
    let (head, json_body) = answer.split_once("\r\n\r\n").unwrap();
    // The small store has no DEM: the handler read the whole body, then said so.
    assert!(head.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(
        head.to_ascii_lowercase().contains("x-request-id: slow-1"),
        "{head}"
    );
    let j: serde_json::Value = serde_json::from_str(json_body).unwrap();
    assert!(
        j["error"].as_str().unwrap().contains("travel-time surface"),
        "{j}"
    );
    let status = server
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("the server exits once the request is answered");
    assert!(status.success(), "{status}");
}
