//! PROJ transformations against PROJ's own `cs2cs`.

use chaski_core::crs::Projection;
use chaski_io::crs::ProjProjection;
use std::process::Command;

/// A point in the Torobamba basin (La Mar, Ayacucho).
const TOROBAMBA: (f64, f64) = (-73.95, -13.0);

#[test]
fn torobamba_round_trips_within_a_millimetre_and_matches_cs2cs() {
    let p = ProjProjection::new(32718).unwrap();
    let (x, y) = p.forward_one(TOROBAMBA.0, TOROBAMBA.1).unwrap();
    let (lon, lat) = p.inverse_one(x, y).unwrap();
    // Back in metres, the round trip error must be under 1 mm.
    let (x2, y2) = p.forward_one(lon, lat).unwrap();
    assert!((x - x2).abs() < 1e-3 && (y - y2).abs() < 1e-3);
    assert!((lon - TOROBAMBA.0).abs() < 1e-8 && (lat - TOROBAMBA.1).abs() < 1e-8);

    // cs2cs reads lat lon for EPSG:4326 (authority axis order) and writes easting northing.
    let Ok(out) = Command::new("cs2cs")
        .args(["-f", "%.6f", "EPSG:4326", "EPSG:32718"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{} {}", TOROBAMBA.1, TOROBAMBA.0)?;
            drop(stdin);
            child.wait_with_output()
        })
    else {
        panic!("cs2cs (package proj-bin) is required: run scripts/install-deps.sh");
    };
    let s = String::from_utf8(out.stdout).unwrap();
    let v: Vec<f64> = s
        .split_whitespace()
        .take(2)
        .map(|t| t.parse().unwrap())
        .collect();
    assert!((v[0] - x).abs() < 1e-3, "cs2cs {} vs {x}", v[0]);
    assert!((v[1] - y).abs() < 1e-3, "cs2cs {} vs {y}", v[1]);
}
