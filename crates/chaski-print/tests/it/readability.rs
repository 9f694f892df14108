//! The readability rules, on every paper size and orientation: no two label
//! boxes intersect, no label covers a symbol, no symbol under 3 mm, the
//! scale bar matches the map's scale within 1 % (and the map matches the
//! ground: distances between households on the page against geodesic
//! distances on WGS 84), every household labelled somewhere or marked in the
//! index.

use crate::common::{LAT, LON, households, map, spec};
use chaski_print::symbols::MIN_SYMBOL_MM;
use chaski_print::{PageKind, PrintedPage, compose};
use geo::{Distance, Geodesic, Point};
use rstest::rstest;
use std::collections::BTreeSet;

/// Check the rules on every map and detail page of `pages`.
pub fn check_pages(pages: &[PrintedPage], lonlat_of: &dyn Fn(&str) -> (f64, f64)) {
    for (n, p) in pages.iter().enumerate() {
        let i = &p.info;
        if i.kind == PageKind::Index {
            continue;
        }
        for (k, a) in i.label_boxes.iter().enumerate() {
            for b in &i.label_boxes[k + 1..] {
                assert!(
                    !a.intersects(b),
                    "page {}: labels {a:?} and {b:?} overlap",
                    n + 1
                );
            }
            for s in &i.symbol_boxes {
                assert!(
                    !a.intersects(s),
                    "page {}: label {a:?} covers symbol {s:?}",
                    n + 1
                );
            }
            assert!(
                i.frame.unwrap().rect.contains_rect(a),
                "page {}: label {a:?} off the map",
                n + 1
            );
        }
        for s in &i.symbol_sizes {
            assert!(*s >= MIN_SYMBOL_MM, "page {}: a symbol of {s} mm", n + 1);
        }
        let frame = i.frame.unwrap();
        let bar = i.scale_bar.unwrap();
        let ground_of_bar = bar.length_mm * frame.denominator / 1000.0;
        assert!(
            (ground_of_bar / bar.metres - 1.0).abs() < 0.01,
            "page {}: {bar:?}",
            n + 1
        );
        // The page against the ground, with an independent geodesic.
        let at = &i.households_at;
        if let (Some(a), Some(b)) = (
            at.first(),
            at.iter().max_by(|x, y| {
                let d = |p: &(String, (f64, f64))| (p.1.0 - at[0].1.0).hypot(p.1.1 - at[0].1.1);
                d(x).total_cmp(&d(y))
            }),
        ) {
            let page_mm = (a.1.0 - b.1.0).hypot(a.1.1 - b.1.1);
            if page_mm > 20.0 {
                let (la, lb) = (lonlat_of(&a.0), lonlat_of(&b.0));
                let ground = Geodesic.distance(Point::new(la.0, la.1), Point::new(lb.0, lb.1));
                let by_bar = page_mm / bar.length_mm * bar.metres;
                assert!(
                    (by_bar / ground - 1.0).abs() < 0.01,
                    "page {}: {by_bar} m by the bar, {ground} m on the ground",
                    n + 1
                );
            }
        }
    }
}

#[rstest]
#[case("a4", "portrait")]
#[case("a4", "landscape")]
#[case("a3", "portrait")]
#[case("a3", "landscape")]
fn every_page_is_readable(#[case] size: &str, #[case] orientation: &str) {
    let list = households(40, 60);
    let m = map(Some(list.clone()));
    let pages = compose(&m, &spec(size, orientation, "es")).unwrap();
    let lonlat_of = |code: &str| list.iter().find(|h| h.code == code).unwrap().lonlat;
    check_pages(&pages, &lonlat_of);

    // The knot cannot be labelled at the map's scale: detail pages take it.
    assert_eq!(pages[0].info.kind, PageKind::Map);
    assert!(
        !pages[0].info.dropped.is_empty(),
        "the knot should not fit at the map's scale"
    );
    let details: Vec<&PrintedPage> = pages
        .iter()
        .filter(|p| matches!(p.info.kind, PageKind::Detail(_)))
        .collect();
    assert!(!details.is_empty());
    for d in &details {
        assert!(d.info.frame.unwrap().denominator < pages[0].info.frame.unwrap().denominator);
    }
    // Every household is labelled on some page, or starred in the index; the index lists them all.
    let labelled: BTreeSet<&str> = pages
        .iter()
        .flat_map(|p| p.info.labelled.iter().map(String::as_str))
        .collect();
    let listed: BTreeSet<&str> = pages
        .iter()
        .flat_map(|p| p.info.listed.iter().map(String::as_str))
        .collect();
    let all: BTreeSet<&str> = list.iter().map(|h| h.code.as_str()).collect();
    assert_eq!(listed, all);
    let index_svg: String = pages
        .iter()
        .filter(|p| p.info.kind == PageKind::Index)
        .map(|p| p.svg.as_str())
        .collect();
    for code in &all {
        assert!(
            labelled.contains(code) || index_svg.contains(&format!("{code}*")),
            "{code} is nowhere"
        );
    }
    // The confidential footer on every page, the QR link opaque.
    for p in &pages {
        assert!(p.info.confidential && p.svg.contains("CONFIDENCIAL — datos de salud"));
        if let Some(link) = &p.info.link {
            assert!(
                link.starts_with("https://chaski.example.org/#") && !link.contains("SYN"),
                "{link}"
            );
        }
    }
    let _ = (LON, LAT);
}

#[test]
fn a_public_map_shows_no_household() {
    let m = map(None);
    let pages = compose(&m, &spec("a4", "portrait", "es")).unwrap();
    assert_eq!(pages.len(), 1, "no details, no index");
    let p = &pages[0];
    assert!(!p.info.confidential && !p.svg.contains("CONFIDENCIAL") && !p.svg.contains("SYN-H"));
    assert!(
        p.svg.contains("45 hogares"),
        "the community's published count"
    );
    assert!(p.info.households_at.is_empty());
    check_pages(&pages, &|_| (LON, LAT));
}

#[test]
fn layout_is_deterministic() {
    let m = map(Some(households(30, 10)));
    let s = spec("a4", "portrait", "en");
    let a = compose(&m, &s).unwrap();
    let b = compose(&m, &s).unwrap();
    assert_eq!(a, b);
    assert!(
        a[0].svg.contains("Family risk map") && a[0].svg.contains("CONFIDENTIAL — health data")
    );
}

#[test]
fn an_empty_map_is_an_error_naming_the_area() {
    let mut m = map(None);
    m.focus = [f64::NAN; 4];
    let err = compose(&m, &spec("a4", "portrait", "es"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("community:SYN-CP1"), "{err}");
}
