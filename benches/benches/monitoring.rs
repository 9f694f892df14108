//! Monitoring kernels (the whole commands: `benches/process/monitoring.sh`).
//!
//! * `monitoring/indicators_100000x4_by_community_protected`: the built-in
//!   indicator tables (5 indicators, by community, 4 rounds, the protected
//!   tables of callers without household rights) over 100,000 households x 4
//!   rounds in 2,000 communities, records already read (`Records`);
//! * `monitoring/indicators_100000x4_by_community_exact`: the same, exact;
//! * `monitoring/records_100000x4`: building the `Records` from the layers;
//! * `monitoring/did_31_communities_999_permutations`: one indicator's DiD on
//!   31 communities (17 intervention, 14 control), 999 permutations.

#![allow(missing_docs, clippy::unwrap_used, clippy::many_single_char_names)]

use chaski_analysis::monitoring::config::Indicators;
use chaski_analysis::monitoring::data::Records;
use chaski_analysis::monitoring::did::{CommunityCounts, did_from_counts};
use chaski_analysis::monitoring::table::{By, Period, indicator_table};
use chaski_core::auth::Access;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// A small deterministic generator (no external state).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn layers(n: usize, communities: usize, rounds: i64) -> (Layer, Layer) {
    let mut h = Layer::new("households", LayerKind::Households);
    let nf = h.fields.len();
    let at = |name: &str| h.field_index(name).unwrap();
    let (code, com, fac, sec, round, date) = (
        at("code"),
        at("community"),
        at("facility"),
        at("cha_sector"),
        at("visit_round"),
        at("visit_date"),
    );
    let flags = [
        "anaemia",
        "malnutrition",
        "danger_signs",
        "safe_water",
        "sanitation",
    ]
    .map(&at);
    let (u5, preg) = (at("under5"), at("pregnant"));
    let mut rng = Lcg(7);
    for i in 0..n {
        let c = i * communities / n;
        for r in 1..=rounds {
            let mut v = vec![Value::Null; nf];
            v[code] = format!("GEN-H{i:06}").into();
            v[com] = format!("GEN-CP{c:04}").into();
            v[fac] = format!("GEN-{:05}", c % 20).into();
            v[sec] = format!("GEN-CP{c:04}-S1").into();
            v[round] = Value::Int(r);
            v[date] = format!("2026-{:02}-15", r * 3).into();
            v[u5] = Value::Int((rng.next() * 3.0) as i64);
            v[preg] = Value::Int(i64::from(rng.next() < 0.1));
            for (k, &f) in flags.iter().enumerate() {
                v[f] = Value::Bool(rng.next() < 0.1 + 0.1 * k as f64);
            }
            h.features.push(Feature {
                fid: h.features.len() as i64 + 1,
                geometry: geo::Point::new(-74.0, -13.0).into(),
                values: v,
            });
        }
    }
    let mut c = Layer::new("communities", LayerKind::Communities);
    c.fields.push(chaski_core::value::Field::new(
        "group",
        chaski_core::value::FieldType::Text,
    ));
    let ncf = c.fields.len();
    for k in 0..communities {
        let mut v = vec![Value::Null; ncf];
        v[c.field_index("code").unwrap()] = format!("GEN-CP{k:04}").into();
        v[c.field_index("ubigeo").unwrap()] = format!("0599{:02}", k % 40).into();
        v[ncf - 1] = if k % 2 == 0 {
            "intervention"
        } else {
            "control"
        }
        .into();
        c.features.push(Feature {
            fid: k as i64 + 1,
            geometry: geo::Point::new(-74.0, -13.0).into(),
            values: v,
        });
    }
    (h, c)
}

fn bench(c: &mut Criterion) {
    let (h, comms) = layers(100_000, 2_000, 4);
    let ind = Indicators::defaults();
    let all: Vec<_> = ind.list.iter().collect();
    let records = Records::new(
        std::slice::from_ref(&h),
        Some(&comms),
        &Access::public(),
        "group",
    );
    let mut g = c.benchmark_group("monitoring");
    g.sample_size(10);
    g.bench_function("records_100000x4", |b| {
        b.iter(|| {
            Records::new(
                black_box(std::slice::from_ref(&h)),
                Some(&comms),
                &Access::public(),
                "group",
            )
        });
    });
    g.bench_function("indicators_100000x4_by_community_protected", |b| {
        b.iter(|| {
            indicator_table(
                black_box(&records),
                &all,
                By::Community,
                Period::Round,
                true,
            )
            .unwrap()
        });
    });
    g.bench_function("indicators_100000x4_by_community_exact", |b| {
        b.iter(|| {
            indicator_table(
                black_box(&records),
                &all,
                By::Community,
                Period::Round,
                false,
            )
            .unwrap()
        });
    });
    let mut rng = Lcg(11);
    let data: Vec<CommunityCounts> = (0..31)
        .map(|k| {
            let p = 0.2 + 0.4 * rng.next();
            let d = 60;
            let n = |rng: &mut Lcg| (0..d).filter(|_| rng.next() < p).count() as u64;
            CommunityCounts {
                intervention: k < 17,
                baseline: (d, n(&mut rng)),
                endline: (d, n(&mut rng)),
            }
        })
        .collect();
    g.bench_function("did_31_communities_999_permutations", |b| {
        b.iter(|| did_from_counts(black_box(&data), 999, 1997).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
