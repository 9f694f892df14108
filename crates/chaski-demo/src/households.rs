//! The demo region's households (entirely fake): members, risk flags drawn per
//! village with planted clusters of risk, visit dates in 2026, and the derived
//! risk level.

// Geometry code: u, v, x, y, a, b... are the conventional names.
#![allow(clippy::many_single_char_names)]

use crate::PlantedCluster;
use crate::build::{Facility, Village, WaterSystem, binomial, lonlat, normal, poisson};
use chaski_core::domain::RiskLevel;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use geo::{Geometry, Point};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::TAU;

/// The inputs of [`risk_level`]: one household's recorded flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RiskInputs {
    /// Pregnant women.
    pub pregnant: i64,
    /// Children under 2.
    pub under2: i64,
    /// Children under 5.
    pub under5: i64,
    /// Anaemia (None: not assessed).
    pub anaemia: Option<bool>,
    /// Child malnutrition (None: no child under 5).
    pub malnutrition: Option<bool>,
    /// Danger signs seen.
    pub danger_signs: bool,
    /// Safe water.
    pub safe_water: bool,
    /// Violence risk.
    pub violence_risk: bool,
}

/// The demo's household risk rule:
///
/// * **alto** when danger signs were seen, or a child is malnourished, or
///   there is a violence risk, or a pregnant woman lives in a household with
///   anaemia;
/// * otherwise **medio** when there is anaemia, a pregnancy, a child under 2,
///   or a child under 5 without safe water;
/// * otherwise **bajo**.
///
/// ```
/// use chaski_demo::{risk_level, RiskInputs};
/// use chaski_core::domain::RiskLevel;
/// let mut h = RiskInputs { under5: 1, safe_water: true, ..RiskInputs::default() };
/// assert_eq!(risk_level(&h), RiskLevel::Bajo);
/// h.safe_water = false;
/// assert_eq!(risk_level(&h), RiskLevel::Medio);
/// h.danger_signs = true;
/// assert_eq!(risk_level(&h), RiskLevel::Alto);
/// ```
pub fn risk_level(h: &RiskInputs) -> RiskLevel {
    let anaemia = h.anaemia == Some(true);
    if h.danger_signs
        || h.malnutrition == Some(true)
        || h.violence_risk
        || (h.pregnant > 0 && anaemia)
    {
        RiskLevel::Alto
    } else if anaemia || h.pregnant > 0 || h.under2 > 0 || (h.under5 > 0 && !h.safe_water) {
        RiskLevel::Medio
    } else {
        RiskLevel::Bajo
    }
}

const CUMULATIVE_DAYS: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// Day of year (1-based, 2026 is not a leap year) to `2026-MM-DD`.
pub fn date_2026(day: u32) -> String {
    let day = day.clamp(1, 365);
    let month = CUMULATIVE_DAYS.iter().rposition(|&c| c < day).unwrap_or(0);
    format!("2026-{:02}-{:02}", month + 1, day - CUMULATIVE_DAYS[month])
}

/// Households of every village, with the planted high-risk clusters.
pub fn households(
    villages: &[Village],
    facilities: &[Facility],
    nearest: &[usize],
    water: &[WaterSystem],
    rng: &mut ChaCha8Rng,
    target: usize,
) -> (Layer, Vec<PlantedCluster>) {
    let total: i64 = villages.iter().map(|w| w.households).sum();
    let coverage = (target as f64 / total.max(1) as f64).clamp(0.0, 1.0);
    let mapped: Vec<i64> = villages
        .iter()
        .map(|w| ((w.households as f64 * coverage).round() as i64).max(i64::from(target > 0)))
        .collect();
    // Cluster centres: the villages with the most mapped households within the
    // radius, among those over 2.5 km from their nearest facility; the second
    // at least 8 km beyond the first cluster's edge.
    let radius = 2_500.0;
    let remote = |i: usize| {
        let f = &facilities[nearest[i]];
        villages[i].dist(f.u, f.v) >= 2_500.0
    };
    let score = |i: usize| -> i64 {
        let w = &villages[i];
        (0..villages.len())
            .filter(|&j| villages[j].dist(w.u, w.v) <= radius)
            .map(|j| mapped[j])
            .sum()
    };
    let best = |ok: &dyn Fn(usize) -> bool| -> Option<usize> {
        (0..villages.len())
            .filter(|&i| ok(i))
            .max_by(|&a, &b| score(a).cmp(&score(b)).then(b.cmp(&a)))
    };
    let c1 = best(&|i| remote(i))
        .or_else(|| best(&|_| true))
        .unwrap_or(0);
    let apart =
        |i: usize| villages[i].dist(villages[c1].u, villages[c1].v) >= 2.0 * radius + 8_000.0;
    let c2 = best(&|i| remote(i) && apart(i))
        .or_else(|| best(&apart))
        .unwrap_or(0);
    let mut clusters: Vec<PlantedCluster> = [c1, c2]
        .iter()
        .map(|&i| {
            let w = &villages[i];
            let c = lonlat(w.u, w.v);
            PlantedCluster {
                village: w.code.clone(),
                village_name: w.name.clone(),
                lon: c.x,
                lat: c.y,
                radius_m: radius,
                households: 0,
            }
        })
        .collect();
    // Water quality per village: the best system in it.
    let water_p = |i: usize| -> f64 {
        water
            .iter()
            .filter(|s| s.village == i)
            .map(|s| match (s.status, s.chlorinated) {
                ("operational", true) => 0.9,
                ("operational", false) => 0.65,
                ("partial", _) => 0.4,
                _ => 0.12,
            })
            .fold(0.12, f64::max)
    };
    let mut layer = Layer::new("households", LayerKind::Households);
    let mut cha = 0;
    for (i, w) in villages.iter().enumerate() {
        let in_cluster = [c1, c2].iter().position(|&c| {
            let cw = &villages[c];
            cw.dist(w.u, w.v) <= radius
        });
        let p_water = water_p(i);
        let facility = &facilities[nearest[i]].code;
        for k in 0..mapped[i] {
            if k % 40 == 0 {
                cha += 1;
            }
            let sector = format!("{}-S{}", w.code, k / 40 + 1);
            let spread = (normal(rng) * 110.0).abs().min(300.0);
            let angle = rng.random_range(0.0..TAU);
            let (u, v) = (w.u + spread * angle.cos(), w.v + spread * angle.sin());
            let members = (1 + poisson(rng, 3.2)).min(11);
            let hot = in_cluster.is_some();
            let under5 = binomial(rng, members - 1, if hot { 0.28 } else { 0.17 }).min(3);
            let under2 = binomial(rng, under5, 0.45);
            let pregnant =
                i64::from(members >= 2 && rng.random_bool(if hot { 0.12 } else { 0.07 }));
            let safe_water = rng.random_bool(p_water);
            let anaemia = (under5 + pregnant > 0).then(|| {
                let p = if hot {
                    0.8
                } else if safe_water {
                    0.3
                } else {
                    0.4
                };
                rng.random_bool(p)
            });
            let sanitation = rng.random_bool(if safe_water { 0.6 } else { 0.3 });
            let malnutrition = (under5 > 0).then(|| {
                let p = 0.08
                    + if anaemia == Some(true) { 0.08 } else { 0.0 }
                    + if safe_water { 0.0 } else { 0.05 };
                rng.random_bool(p)
            });
            let danger_signs = (pregnant > 0 || under2 > 0) && {
                let p = if hot {
                    0.45
                } else if anaemia == Some(true) {
                    0.12
                } else {
                    0.06
                };
                rng.random_bool(p)
            };
            let violence_risk = rng.random_bool(0.05);
            let risk = risk_level(&RiskInputs {
                pregnant,
                under2,
                under5,
                anaemia,
                malnutrition,
                danger_signs,
                safe_water,
                violence_risk,
            });
            let day = rng.random_range(5..=300);
            if let Some(c) = in_cluster {
                clusters[c].households += 1;
            }
            let fid = layer.features.len() as i64 + 1;
            let date = date_2026(day);
            layer.features.push(Feature {
                fid,
                geometry: Geometry::Point(Point::from(lonlat(u, v))),
                values: vec![
                    format!("DEMO-H{fid:04}").into(),
                    w.code.clone().into(),
                    facility.clone().into(),
                    sector.into(),
                    format!("DEMO-ACS{cha:03}").into(),
                    date.clone().into(),
                    Value::Int(members),
                    Value::Int(pregnant),
                    Value::Int(under2),
                    Value::Int(under5),
                    anaemia.into(),
                    malnutrition.into(),
                    danger_signs.into(),
                    safe_water.into(),
                    sanitation.into(),
                    violence_risk.into(),
                    risk.as_str().into(),
                    // altitude, GPS accuracy and the submission id come with the
                    // KoBo export's own columns (see `write`)
                    Value::Null,
                    Value::Null,
                    "gps".into(),
                    Value::Int(1),
                    Value::Null,
                    if safe_water { "red_publica" } else { "rio" }.into(),
                    true.into(),
                    date.into(),
                    Value::Null,
                ],
            });
        }
    }
    (layer, clusters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaski_core::domain::RiskLevel;

    #[test]
    fn dates() {
        assert_eq!(date_2026(1), "2026-01-01");
        assert_eq!(date_2026(31), "2026-01-31");
        assert_eq!(date_2026(32), "2026-02-01");
        assert_eq!(date_2026(59), "2026-02-28");
        assert_eq!(date_2026(60), "2026-03-01");
        assert_eq!(date_2026(365), "2026-12-31");
    }

    #[test]
    fn risk_rule() {
        let base = RiskInputs {
            safe_water: true,
            ..RiskInputs::default()
        };
        assert_eq!(risk_level(&base), RiskLevel::Bajo);
        let preg = RiskInputs {
            pregnant: 1,
            ..base
        };
        assert_eq!(risk_level(&preg), RiskLevel::Medio);
        let preg_anaemia = RiskInputs {
            anaemia: Some(true),
            ..preg
        };
        assert_eq!(risk_level(&preg_anaemia), RiskLevel::Alto);
        let child_anaemia = RiskInputs {
            under5: 1,
            anaemia: Some(true),
            ..base
        };
        assert_eq!(risk_level(&child_anaemia), RiskLevel::Medio);
        let malnourished = RiskInputs {
            under5: 1,
            malnutrition: Some(true),
            ..base
        };
        assert_eq!(risk_level(&malnourished), RiskLevel::Alto);
        let violence = RiskInputs {
            violence_risk: true,
            ..base
        };
        assert_eq!(risk_level(&violence), RiskLevel::Alto);
        let u2 = RiskInputs {
            under2: 1,
            under5: 1,
            ..base
        };
        assert_eq!(risk_level(&u2), RiskLevel::Medio);
    }
}
