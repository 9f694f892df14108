//! README's walkthrough, "a planner's first day on real data", run exactly as
//! written: the shell block between `<!-- first-day -->` and
//! `<!-- /first-day -->` is read from README.md and each of its commands is
//! run in a temporary folder (variables, `export`, quotes and comments as a
//! shell reads them; `PERU` made absolute; a free port in place of 8080). The
//! results are then checked against each other and against the data: the
//! server's answers against the CLI's tables of the same run, every listed
//! village inside the district's polygon of the source file, answers
//! gzip-compressed under 200 KB, and memory flat over 20 repeated calls.
//! Skipped, saying so, when ../shared/data/peru is absent.

use crate::common::{Answer, Server, free_port, http_get, peru, text};
use geo::{Intersects, MultiPolygon, Point};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of README's first-day shell block.
fn walkthrough() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("<!-- first-day -->")
        .expect("README has a <!-- first-day --> block");
    let end = readme[start..]
        .find("<!-- /first-day -->")
        .expect("the first-day block is closed")
        + start;
    let block = &readme[start..end];
    let open = block.find("```sh\n").expect("a ```sh fence") + "```sh\n".len();
    let close = block[open..].find("```").expect("a closing fence") + open;
    // Continuation lines (a trailing backslash) join the next.
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in block[open..close].lines() {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(line);
            lines.push(std::mem::take(&mut pending));
        }
    }
    lines
}

/// A line split into words as a POSIX shell would for these commands:
/// single quotes literal, double quotes and bare words expanding `$VAR` and
/// `${VAR}`, backslash escapes outside single quotes, `#` at the start of a
/// word a comment. `None` for an empty or comment line.
fn words(line: &str, vars: &HashMap<String, String>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut String| {
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if braced {
            assert_eq!(chars.next(), Some('}'), "unclosed ${{ in: {line}");
        }
        assert!(!name.is_empty(), "a lone $ in: {line}");
        word.push_str(
            vars.get(&name)
                .unwrap_or_else(|| panic!("${name} is not set before: {line}")),
        );
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        '$' => expand(&mut chars, &mut word),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '$' => {
                in_word = true;
                expand(&mut chars, &mut word);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    (!out.is_empty()).then_some(out)
}

/// `NAME=VALUE` as a shell assignment.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    ok.then_some((name, value))
}

/// What running the walkthrough left behind.
#[derive(Default)]
struct Run {
    /// Each `chaski` command (without the program) and its stdout + stderr.
    commands: Vec<(Vec<String>, String)>,
    /// `catchments --out` folders.
    outs: Vec<PathBuf>,
    /// Each `curl` request path and its answer.
    answers: Vec<(String, Answer)>,
    server: Option<Server>,
}

/// Run the walkthrough's lines in `dir`.
fn run(lines: &[String], dir: &Path) -> Run {
    let port = free_port();
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut done = Run::default();
    for line in lines {
        let Some(mut w) = words(line, &vars) else {
            continue;
        };
        for word in &mut w {
            *word = word.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        }
        let background = w.last().is_some_and(|l| l == "&");
        if background {
            w.pop();
        }
        match w[0].as_str() {
            "export" => {
                for word in &w[1..] {
                    let (name, value) = assignment(word).expect("export NAME=VALUE");
                    vars.insert(name.to_owned(), value.to_owned());
                    env.push((name.to_owned(), value.to_owned()));
                }
            }
            first if w.len() == 1 && assignment(first).is_some() => {
                let (name, value) = assignment(first).unwrap();
                // A path relative to the repository (the data beside it) is
                // made absolute: the commands run in a temporary folder.
                let value = if Path::new(value).is_relative() && repo().join(value).exists() {
                    repo()
                        .join(value)
                        .canonicalize()
                        .unwrap()
                        .display()
                        .to_string()
                } else {
                    value.to_owned()
                };
                vars.insert(name.to_owned(), value);
            }
            "mkdir" => {
                assert_eq!(w[1], "-p", "{line}");
                for d in &w[2..] {
                    std::fs::create_dir_all(dir.join(d)).unwrap();
                }
            }
            "chaski" => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_chaski"));
                cmd.current_dir(dir).args(&w[1..]).envs(env.iter().cloned());
                if background {
                    assert_eq!(w[1], "serve", "only serve runs in the background: {line}");
                    done.server = Some(Server::start(cmd, port));
                    continue;
                }
                let out = cmd.output().unwrap();
                let said = text(&out.stdout) + &text(&out.stderr);
                assert!(out.status.success(), "`{line}` failed:\n{said}");
                if w[1] == "catchments" {
                    let at = w.iter().position(|a| a == "--out").unwrap();
                    done.outs.push(dir.join(&w[at + 1]));
                }
                done.commands.push((w[1..].to_vec(), said));
            }
            "curl" => {
                assert!(done.server.is_some(), "curl before serve: {line}");
                let url = w[1..].iter().find(|a| !a.starts_with('-')).unwrap();
                let path = url
                    .strip_prefix(&format!("http://127.0.0.1:{port}"))
                    .unwrap_or_else(|| panic!("curl of another server: {line}"));
                let answer = http_get(port, path, &[("Accept-Encoding", "gzip")]).unwrap();
                done.answers.push((path.to_owned(), answer));
            }
            other => panic!("README's first day runs `{other}`, which this test cannot run"),
        }
    }
    done
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A CSV file (UTF-8 with a byte-order mark) as rows of named fields.
fn csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "{}: no BOM",
        path.display()
    );
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// A district's polygons from the source file, by code (`IDDIST`).
fn district(code: &str) -> MultiPolygon<f64> {
    let text = std::fs::read_to_string(peru("admin/distritos.geojson").unwrap()).unwrap();
    let fc: geojson::FeatureCollection = text.parse().unwrap();
    let f = fc
        .features
        .into_iter()
        .find(|f| f.property("IDDIST").and_then(|v| v.as_str()) == Some(code))
        .unwrap();
    let g: geo::Geometry<f64> = f.geometry.unwrap().try_into().unwrap();
    match g {
        geo::Geometry::MultiPolygon(m) => m,
        geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        other => panic!("district {code} is {other:?}"),
    }
}

fn said<'a>(run: &'a Run, command: &[&str]) -> &'a str {
    run.commands
        .iter()
        .find(|(w, _)| w.len() >= command.len() && w[..command.len()] == *command)
        .map_or_else(
            || panic!("the walkthrough runs no `chaski {}`", command.join(" ")),
            |(_, s)| s.as_str(),
        )
}

#[test]
fn readme_first_day_runs_as_written() {
    if peru("").is_none() {
        return;
    }
    let lines = walkthrough();
    let dir = tempfile::tempdir().unwrap();
    let run = run(&lines, dir.path());

    // Every step the walkthrough promises is there.
    let summary = said(&run, &["summary"]);
    for expected in [
        "communities (communities, point): 136587 features",
        "facilities (facilities, point): 7951 features",
        "districts (boundaries, multipolygon): 1826 features",
        "population 765104 (known for 2341 of 136587)",
        "elevation (raster): 1525 x 1419 cells of 30.",
    ] {
        assert!(
            summary.contains(expected),
            "summary lacks {expected:?}:\n{summary}"
        );
    }
    let join = said(&run, &["import"]);
    assert!(join.contains("136587 features read"), "{join}");
    assert_eq!(run.outs.len(), 2, "two catchments runs");
    for out in &run.outs {
        for file in [
            "travel_time.tif",
            "allocation.tif",
            "villages.csv",
            "villages.geojson",
            "districts.csv",
            "catchments.geojson",
            "isochrones.geojson",
            "run.json",
        ] {
            assert!(out.join(file).is_file(), "{} lacks {file}", out.display());
        }
    }
    let catchments = said(&run, &["catchments"]);
    assert!(
        catchments.contains("assumed: no paths or roads in the store"),
        "{catchments}"
    );
    assert!(
        catchments.contains("population unknown for 484 of 484 villages"),
        "{catchments}"
    );

    // The server's answers, checked against the CLI's tables of the same
    // scenario and against the district's polygon in the source file.
    let server = run.server.as_ref().expect("the walkthrough serves");
    assert_eq!(run.answers.len(), 2, "two requests");
    for (path, answer) in &run.answers {
        assert_eq!(answer.status, 200, "{path}: {}", text(&answer.body));
        assert_eq!(answer.header("content-encoding"), Some("gzip"), "{path}");
        assert!(
            answer.body.len() < 200_000,
            "{path}: {} bytes compressed",
            answer.body.len()
        );
        let j: serde_json::Value = serde_json::from_slice(&gunzip(&answer.body)).unwrap();
        let code = j["filter"]["district"]["code"].as_str().unwrap();
        let area = district(code);
        let minutes = j["minutes"].as_f64().unwrap();
        let features = j["features"].as_array().unwrap();
        assert!(
            !features.is_empty(),
            "{path}: no village beyond {minutes} min"
        );
        assert_eq!(j["page"]["total"], j["counts"]["underserved"], "{path}");
        assert!(j["next"].is_null(), "{path}: one page");

        // The catchments run of the same scenario.
        let out = run
            .outs
            .iter()
            .find(|o| {
                let report: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(o.join("run.json")).unwrap())
                        .unwrap();
                report["scenario"] == j["scenario"]
            })
            .unwrap_or_else(|| panic!("no catchments run of scenario {}", j["scenario"]));
        let table: HashMap<String, HashMap<String, String>> = csv_rows(&out.join("villages.csv"))
            .into_iter()
            .map(|r| (r["code"].clone(), r))
            .collect();
        for f in features {
            let c = f["geometry"]["coordinates"].as_array().unwrap();
            let p = Point::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            assert!(area.intersects(&p), "{path}: {f} is not in district {code}");
            let props = &f["properties"];
            let m = props["minutes"].as_f64().unwrap();
            assert!(m > minutes, "{path}: {props}");
            let row = &table[props["code"].as_str().unwrap()];
            let cli: f64 = row["minutes"].parse().unwrap();
            assert!(
                (cli - m).abs() < 1e-3,
                "{path}: {props} vs villages.csv {row:?}"
            );
            assert_eq!(row["facility"], props["facility"].as_str().unwrap());
        }
        let by_district = csv_rows(&out.join("districts.csv"));
        let row = by_district
            .iter()
            .find(|r| r["code"] == code)
            .unwrap_or_else(|| panic!("districts.csv has no {code}"));
        assert_eq!(
            row["villages_beyond_120"].parse::<u64>().unwrap(),
            j["counts"]["underserved"].as_u64().unwrap(),
            "{path}: districts.csv {row:?}"
        );
        assert_eq!(
            row["villages_within_120"].parse::<u64>().unwrap(),
            j["counts"]["within"].as_u64().unwrap(),
            "{path}: districts.csv {row:?}"
        );
        // No population is known here: totals are empty, not 0.
        assert!(j["counts"]["underserved_population"].is_null(), "{path}");
        assert_eq!(row["population_beyond_120"], "", "{path}");
    }

    // Repeated calls do not grow memory: 20 calls within 10 % of the first.
    let (path, _) = &run.answers[0];
    let rss: Vec<u64> = (0..20)
        .map(|_| {
            let a = http_get(server.port, path, &[("Accept-Encoding", "gzip")]).unwrap();
            assert_eq!(a.status, 200);
            server.rss_kb()
        })
        .collect();
    let first = rss[0] as f64;
    for (i, &r) in rss.iter().enumerate() {
        assert!(
            (r as f64) <= first * 1.10,
            "call {}: RSS {r} kB, first {first} kB: {rss:?}",
            i + 1
        );
    }

    // The viewer the walkthrough opens, in Spanish.
    let viewer = http_get(server.port, "/", &[]).unwrap();
    assert_eq!(viewer.status, 200);
    assert!(text(&viewer.body).contains("lang=\"es\""));
}
