//! `chaski print` end to end on the demo region (`chaski demo --load`), the
//! files read back by poppler's tools (independent of chaski): pages and
//! paper size (`pdfinfo`), every font embedded (`pdffonts`), the texts a
//! reader looks for and the household codes on the pages (`pdftotext`)
//! against the household file of the demo for each caller, and the first
//! page drawn by `pdftoppm` against the reviewed picture in
//! `tests/reference/print-community.png`.
//!
//! Re-bless the picture (after a reviewed change of the layout) with
//! `CHASKI_BLESS=1 cargo test -p chaski-cli --test it print::`: it rewrites
//! the reference and the screenshot `tests/browser/screenshots/print-page.png`.
//! Without poppler the tests fail under `CHASKI_REQUIRE_DATA=1` and are
//! skipped otherwise.

use crate::common::{chaski, demo_store, text};
use chaski_core::auth::TokenStore;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const COMMUNITY: &str = "DEMO-CP0016";
const COMMUNITY_NAME: &str = "Huayllabamba Alto";
const SECTOR: &str = "DEMO-CP0016-S1";
const DISTRICT: &str = "059904";
/// Largest mean difference per channel (0–255) between the page drawn and
/// the reviewed picture.
const TOLERANCE: f64 = 2.5;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().expect(name);
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn pdf_text(pdf: &Path) -> String {
    tool("pdftotext", &["-enc", "UTF-8", pdf.to_str().unwrap(), "-"])
}

/// Household codes (`DEMO-H…`) in a text.
fn codes_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("DEMO-H"))
        .map(str::to_owned)
        .collect()
}

/// Codes of the demo's household file whose `field` is `value`.
fn codes_where(demo: &Path, field: &str, value: &str) -> BTreeSet<String> {
    let mut r = csv::Reader::from_path(demo.join("households.csv")).unwrap();
    let i = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == field)
        .unwrap();
    r.records()
        .map(Result::unwrap)
        .filter(|rec| &rec[i] == value)
        .map(|rec| rec[0].to_owned())
        .collect()
}

/// `chaski print ARGS --out DIR/NAME` with a fixed date and viewer URL.
fn print(store: &Path, dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Output) {
    let out = dir.join(name);
    let mut all = vec![
        "print",
        "--date",
        "2026-12-05",
        "--viewer-url",
        "https://chaski.example.org",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = chaski(store, &all);
    (out, o)
}

fn check_fonts(pdf: &Path) {
    let fonts = tool("pdffonts", &[pdf.to_str().unwrap()]);
    let rows: Vec<&str> = fonts
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[cols.len() - 5], "yes", "not embedded: {row}");
    }
}

#[test]
fn granted_maps_show_the_callers_households_public_ones_none() {
    if !chaski_testing::require_poppler() {
        return;
    }
    let (dir, store) = demo_store();
    let demo = dir.path().join("demo");

    // Admin: every household of the community, confidential.
    let (pdf, out) = print(
        &store,
        dir.path(),
        "admin.pdf",
        &["--community", COMMUNITY, "--as", "admin"],
    );
    ok(&out);
    let info = tool("pdfinfo", &[pdf.to_str().unwrap()]);
    assert!(
        info.contains("Page size:       595.276 x 841.89 pts (A4)"),
        "{info}"
    );
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(pages >= 2, "a map and an index at least: {info}");
    check_fonts(&pdf);
    let t = pdf_text(&pdf);
    for needle in [
        "Mapa de riesgo familiar",
        &format!("{COMMUNITY_NAME} ({COMMUNITY})"),
        "Escala 1:",
        "1 cm = ",
        "CONFIDENCIAL — datos de salud",
        "Índice de hogares por cuadrícula",
    ] {
        assert!(t.contains(needle), "'{needle}' not in the PDF's text");
    }
    let community = codes_where(&demo, "community", COMMUNITY);
    assert!(community.len() > 40);
    assert_eq!(codes_in(&t), community);
    // The release is in the store's access log.
    let log = chaski_io::store::tokens::GpkgTokenStore::open(&store)
        .unwrap()
        .access_log()
        .unwrap();
    let entry = log
        .iter()
        .rev()
        .find(|e| e.what == "chaski print")
        .expect("logged");
    assert_eq!(entry.count, community.len() as u64);

    // Public (the default): no household code, nothing confidential, the published counts.
    let (pdf, out) = print(
        &store,
        dir.path(),
        "public.pdf",
        &["--community", COMMUNITY],
    );
    ok(&out);
    check_fonts(&pdf);
    let t = pdf_text(&pdf);
    assert!(codes_in(&t).is_empty(), "{:?}", codes_in(&t));
    assert!(!t.contains("CONFIDENCIAL") && t.contains("hogares") && t.contains(COMMUNITY));
    // An analyst: aggregates too.
    let (pdf, out) = print(
        &store,
        dir.path(),
        "analyst.pdf",
        &["--community", COMMUNITY, "--as", "analyst"],
    );
    ok(&out);
    assert!(codes_in(&pdf_text(&pdf)).is_empty());

    // A CHA: only the sector's households, by --as or by its token.
    let sector = codes_where(&demo, "cha_sector", SECTOR);
    let (pdf, out) = print(
        &store,
        dir.path(),
        "cha.pdf",
        &["--community", COMMUNITY, "--as", &format!("cha:{SECTOR}")],
    );
    ok(&out);
    assert_eq!(codes_in(&pdf_text(&pdf)), sector);
    let secret = text(&ok_stdout(&chaski(
        &store,
        &["tokens", "create", "--role", "cha", "--scope", SECTOR],
    )));
    let (pdf, out) = print(
        &store,
        dir.path(),
        "token.pdf",
        &["--sector", SECTOR, "--token", secret.trim()],
    );
    ok(&out);
    let t = pdf_text(&pdf);
    assert_eq!(codes_in(&t), sector);
    assert!(t.contains(SECTOR) && t.contains("Sector ACS"));
}

fn ok_stdout(out: &Output) -> Vec<u8> {
    ok(out);
    out.stdout.clone()
}

#[test]
fn a3_landscape_in_english_png_pages_and_an_atlas() {
    if !chaski_testing::require_poppler() {
        return;
    }
    let (dir, store) = demo_store();
    let (pdf, out) = print(
        &store,
        dir.path(),
        "a3.pdf",
        &[
            "--sector",
            SECTOR,
            "--as",
            "admin",
            "--size",
            "a3",
            "--orientation",
            "landscape",
            "--lang",
            "en",
        ],
    );
    ok(&out);
    let info = tool("pdfinfo", &[pdf.to_str().unwrap()]);
    assert!(
        info.contains("Page size:       1190.55 x 841.89 pts (A3)"),
        "{info}"
    );
    let t = pdf_text(&pdf);
    assert!(
        t.contains("Family risk map")
            && t.contains("CONFIDENTIAL — health data")
            && t.contains("1 cm = ")
    );

    // PNG: one image per page, FILE.png then FILE-2.png..., at the dpi asked.
    let (png, out) = print(
        &store,
        dir.path(),
        "map.png",
        &[
            "--community",
            COMMUNITY,
            "--as",
            "admin",
            "--format",
            "png",
            "--dpi",
            "40",
        ],
    );
    ok(&out);
    let bytes = std::fs::read(&png).unwrap();
    let (w, h) = (
        u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
        u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (331, 468), "A4 at 40 dpi");
    assert!(dir.path().join("map-2.png").exists());

    // An atlas of the district: one map per community, each starting at its page 1.
    let (pdf, out) = print(
        &store,
        dir.path(),
        "atlas.pdf",
        &["--atlas", DISTRICT, "--as", "admin"],
    );
    let said = ok(&out);
    let maps: usize = said
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(maps > 10, "{said}");
    let t = pdf_text(&pdf);
    assert_eq!(t.matches("· Página 1/").count(), maps);
    let (dir_png, out) = print(
        &store,
        dir.path(),
        "atlas-png",
        &["--atlas", DISTRICT, "--format", "png", "--dpi", "20"],
    );
    ok(&out);
    let files = std::fs::read_dir(&dir_png).unwrap().count();
    assert_eq!(files, maps, "public atlas: one page per community");
}

#[test]
fn bad_options_name_the_flag() {
    let (dir, store) = demo_store();
    let cases: [(&[&str], &str); 6] = [
        (&["--community", "NOPE"], "no community with code 'NOPE'"),
        (&["--community", COMMUNITY, "--as", "cha"], "--as 'cha'"),
        (
            &["--community", COMMUNITY, "--as", "root"],
            "unknown role 'root'",
        ),
        (
            &["--community", COMMUNITY, "--token", "chk_wrong"],
            "--token",
        ),
        (&["--community", COMMUNITY, "--size", "a5"], "a4 or a3"),
        (
            &["--community", COMMUNITY, "--format", "png", "--dpi", "5"],
            "dpi",
        ),
    ];
    for (args, needle) in cases {
        let (_, out) = print(&store, dir.path(), "x.pdf", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = chaski(&store, &["print", "--out", "x.pdf"]);
    assert!(!out.status.success() && text(&out.stderr).contains("--community"));
}

/// Width, height and red, green, blue of a PNG file (8 bits; grey as three equal channels).
fn rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let channels = frame.color_type.samples();
    let data: Vec<u8> = buf[..frame.buffer_size()]
        .chunks(channels)
        .flat_map(|p| {
            if p.len() >= 3 {
                [p[0], p[1], p[2]]
            } else {
                [p[0]; 3]
            }
        })
        .collect();
    (frame.width, frame.height, data)
}

#[test]
fn the_first_page_matches_the_reviewed_picture() {
    if !chaski_testing::require_poppler() {
        return;
    }
    let (dir, store) = demo_store();
    let (pdf, out) = print(
        &store,
        dir.path(),
        "page.pdf",
        &["--community", COMMUNITY, "--as", "admin"],
    );
    ok(&out);
    let stem = dir.path().join("page");
    tool(
        "pdftoppm",
        &[
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            "-singlefile",
            pdf.to_str().unwrap(),
            stem.to_str().unwrap(),
        ],
    );
    let drawn = dir.path().join("page.png");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference = root.join("tests/reference/print-community.png");
    if std::env::var_os("CHASKI_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(reference.parent().unwrap()).unwrap();
        std::fs::copy(&drawn, &reference).unwrap();
        let shot = root.join("../../tests/browser/screenshots/print-page");
        std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
        tool(
            "pdftoppm",
            &[
                "-r",
                "100",
                "-f",
                "1",
                "-l",
                "1",
                "-png",
                "-singlefile",
                pdf.to_str().unwrap(),
                shot.to_str().unwrap(),
            ],
        );
    }
    let (w, h, a) = rgb(&drawn);
    let (rw, rh, b) = rgb(&reference);
    assert_eq!((w, h), (rw, rh), "page size in pixels");
    let diff: u64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    let mean = diff as f64 / a.len() as f64;
    assert!(
        mean <= TOLERANCE,
        "the first page differs from tests/reference/print-community.png by {mean:.2} per channel on average \
         (at most {TOLERANCE}); look at {} and re-bless with CHASKI_BLESS=1 if the change is intended",
        drawn.display()
    );
}

#[test]
fn a_sector_map_prints_the_chas_visit_schedule_with_tick_boxes() {
    if !chaski_testing::require_poppler() {
        return;
    }
    let (dir, store) = demo_store();
    // The schedule `chaski visits` gives for the sector on the map's day.
    let csv = ok_stdout(&chaski(
        &store,
        &[
            "visits",
            "--sector",
            SECTOR,
            "--as-of",
            "2026-12-05",
            "--every",
            "30",
        ],
    ));
    let mut r = csv::Reader::from_reader(csv.as_slice());
    let at = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "code")
        .unwrap();
    let due: BTreeSet<String> = r.records().map(|rec| rec.unwrap()[at].to_owned()).collect();
    let sector = codes_where(&dir.path().join("demo"), "cha_sector", SECTOR);
    assert!(!due.is_empty() && due.len() < sector.len(), "{due:?}");
    // The schedule pages of the pdf, form feeds between pages.
    let schedule = |pdf: &Path| -> String {
        pdf_text(pdf)
            .split('\u{c}')
            .filter(|p| p.contains("Visitas pendientes"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The sector's CHA: those households, and only them, on the schedule.
    let (pdf, out) = print(
        &store,
        dir.path(),
        "due.pdf",
        &[
            "--sector",
            SECTOR,
            "--as",
            &format!("cha:{SECTOR}"),
            "--every",
            "30",
        ],
    );
    ok(&out);
    let pages = schedule(&pdf);
    assert!(
        pages.contains(&format!("Visitas pendientes — {SECTOR}")),
        "{pages}"
    );
    assert_eq!(codes_in(&pages), due);
    // In English too.
    let (pdf, out) = print(
        &store,
        dir.path(),
        "due-en.pdf",
        &["--sector", SECTOR, "--as", "admin", "--lang", "en"],
    );
    ok(&out);
    let t = pdf_text(&pdf);
    assert!(t.contains(&format!("Visits due — {SECTOR}")), "{t}");
    // The public and an analyst: no schedule, no code.
    for who in ["public", "analyst"] {
        let (pdf, out) = print(
            &store,
            dir.path(),
            &format!("{who}.pdf"),
            &["--sector", SECTOR, "--as", who],
        );
        ok(&out);
        let t = pdf_text(&pdf);
        assert!(!t.contains("Visitas pendientes"), "{who}");
        assert!(codes_in(&t).is_empty(), "{who}: {:?}", codes_in(&t));
    }
}
