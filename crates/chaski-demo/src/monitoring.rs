//! The demo's monitoring data: a group per community (`intervention` or
//! `control`, as an evaluation would assign them) and an endline survey
//! (round 2, the same households a year later) in which the intervention
//! communities improved more than the control ones: malnutrition, anaemia,
//! unsafe water and unimproved sanitation each resolve in a share of the
//! households that had them (intervention 50%, 40%, 40%, 35%; control 10%
//! each), and the risk level is derived again.
//!
//! Parameters: the generated region and its seed. Returns the round-2
//! households (layer `households`, ready to append) and the groups by
//! community code. Deterministic for a seed.
//!
//! ```
//! use chaski_demo::{DemoOptions, generate, monitoring};
//! let region = generate(&DemoOptions::default());
//! let (round2, groups) = monitoring::endline(&region);
//! assert_eq!(round2.len(), region.layer("households").unwrap().len());
//! assert!(groups.iter().any(|(_, g)| *g == "intervention") && groups.iter().any(|(_, g)| *g == "control"));
//! assert_eq!(monitoring::endline(&region), (round2, groups)); // deterministic
//! ```

use crate::DemoRegion;
use crate::households::{RiskInputs, risk_level};
use chaski_core::layer::Layer;
use chaski_core::value::Value;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Chance that a problem of round 1 is resolved in round 2: malnutrition,
/// anaemia, unsafe water, unimproved sanitation.
const RESOLVED: [(f64, f64); 4] = [(0.5, 0.1), (0.4, 0.1), (0.4, 0.1), (0.35, 0.1)];

/// Round-2 households and the group of every community (see the module
/// documentation).
pub fn endline(region: &DemoRegion) -> (Layer, Vec<(String, &'static str)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(region.seed);
    rng.set_stream(8);
    let communities = region
        .layer("communities")
        .expect("the demo has communities");
    let code_at = communities.field_index("code").expect("code");
    let groups: Vec<(String, &'static str)> = communities
        .features
        .iter()
        .filter_map(|f| {
            f.values
                .get(code_at)
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .map(|c| {
            let g = if rng.random_bool(0.5) {
                "intervention"
            } else {
                "control"
            };
            (c, g)
        })
        .collect();
    let group: BTreeMap<&str, bool> = groups
        .iter()
        .map(|(c, g)| (c.as_str(), *g == "intervention"))
        .collect();
    let mut layer = region
        .layer("households")
        .expect("the demo has households")
        .clone();
    let idx = |n: &str| layer.field_index(n).expect("household field");
    let (community, round, date, consent_date) = (
        idx("community"),
        idx("visit_round"),
        idx("visit_date"),
        idx("consent_date"),
    );
    let fields = ["malnutrition", "anaemia", "safe_water", "sanitation"].map(idx);
    let (level, water_source) = (idx("risk_level"), idx("water_source"));
    let get_i =
        |v: &[Value], n: &str, l: &Layer| v[l.field_index(n).expect("field")].as_i64().unwrap_or(0);
    let get_b = |v: &[Value], n: &str, l: &Layer| v[l.field_index(n).expect("field")].as_bool();
    let names = layer.fields.clone();
    let probe = Layer {
        name: layer.name.clone(),
        kind: layer.kind,
        fields: names,
        features: Vec::new(),
    };
    for f in &mut layer.features {
        let v = &mut f.values;
        let treated = v[community]
            .as_str()
            .and_then(|c| group.get(c).copied())
            .unwrap_or(false);
        for (k, &at) in fields.iter().enumerate() {
            let p = if treated {
                RESOLVED[k].0
            } else {
                RESOLVED[k].1
            };
            // Malnutrition and anaemia resolve from yes to no; water and
            // sanitation from no to yes.
            let bad = if k < 2 { Some(true) } else { Some(false) };
            if v[at].as_bool() == bad && rng.random_bool(p) {
                v[at] = Value::Bool(k >= 2);
            }
        }
        if v[fields[2]].as_bool() == Some(true) {
            v[water_source] = "red_publica".into();
        }
        let inputs = RiskInputs {
            pregnant: get_i(v, "pregnant", &probe),
            under2: get_i(v, "under2", &probe),
            under5: get_i(v, "under5", &probe),
            anaemia: get_b(v, "anaemia", &probe),
            malnutrition: get_b(v, "malnutrition", &probe),
            danger_signs: get_b(v, "danger_signs", &probe) == Some(true),
            safe_water: get_b(v, "safe_water", &probe) == Some(true),
            violence_risk: get_b(v, "violence_risk", &probe) == Some(true),
        };
        v[level] = risk_level(&inputs).as_str().into();
        v[round] = Value::Int(2);
        // The same day a year later.
        for at in [date, consent_date] {
            if let Some(d) = v[at].as_str().and_then(|d| d.strip_prefix("2026-")) {
                v[at] = format!("2027-{d}").into();
            }
        }
    }
    (layer, groups)
}
