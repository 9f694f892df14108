//! `chaski serve` is self-contained: started from an empty folder it serves the
//! built-in styles, the catalog lists them and the viewer loads; `--styles DIR`
//! replaces them, and a missing or empty `--styles` folder is an error at start.

use crate::common::{Server, free_port, http_get, text};
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
