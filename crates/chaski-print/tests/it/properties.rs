//! Random villages: however the households fall, labels never overlap each
//! other or a symbol, and every household ends up labelled or in the index.

use crate::common::{LAT, LON, map, spec};
use crate::readability::check_pages;
use chaski_analysis::risk_map::{HouseholdMarks, MapHousehold};
use chaski_print::compose;
use proptest::prelude::*;

fn household(k: usize, (x, y): (f64, f64), flags: u8) -> MapHousehold {
    MapHousehold {
        code: format!("SYN-H{k:03}"),
        lonlat: (LON + x / 108_000.0, LAT + y / 111_000.0),
        marks: HouseholdMarks {
            pregnant: flags & 1 != 0,
            child_under5: flags & 2 != 0,
            anaemia_malnutrition: flags & 4 != 0,
            danger_signs: flags & 8 != 0,
            priority: flags & 16 != 0,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn labels_never_overlap_on_random_villages(
        pts in prop::collection::vec(((-300.0_f64..300.0, -300.0_f64..300.0), 0_u8..32), 1..90),
        landscape in any::<bool>(),
    ) {
        let list: Vec<MapHousehold> = pts.iter().enumerate().map(|(k, (p, f))| household(k, *p, *f)).collect();
        let mut m = map(Some(list.clone()));
        m.relief = None;
        let pages = compose(&m, &spec("a4", if landscape { "landscape" } else { "portrait" }, "es")).unwrap();
        check_pages(&pages, &|code| list.iter().find(|h| h.code == code).unwrap().lonlat);
        let listed: usize = pages.iter().map(|p| p.info.listed.len()).sum();
        prop_assert_eq!(listed, list.len());
    }
}
