//! The indicator file: which indicators `chaski indicators`, `chaski did` and
//! their HTTP endpoints compute, and the evaluation design (group attribute,
//! baseline and endline rounds). The defaults ([`DEFAULT_TOML`]) are built
//! in; `--indicators FILE` replaces them.
//!
//! Parameters: the TOML text. Returns [`Indicators`], or a [`ConfigError`]
//! naming the indicator and key at fault.
//!
//! ```
//! use chaski_analysis::monitoring::config::Indicators;
//! let d = Indicators::defaults();
//! assert_eq!(d.design.baseline, 1);
//! assert!(d.find("chronic_malnutrition").is_some());
//! let e = Indicators::parse("[[indicator]]\nid = \"x\"\nnumerator = \"code\"\ndenominator = \"all\"\n");
//! assert!(e.unwrap_err().to_string().contains("indicator 'x': numerator"));
//! ```

use super::predicate::{Predicate, PredicateError};
use serde::{Deserialize, Serialize};

/// The built-in indicator file.
pub const DEFAULT_TOML: &str = include_str!("indicators.toml");

/// Errors of the indicator file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not valid TOML or has unknown keys.
    #[error("{0}")]
    Toml(String),
    /// A predicate cannot be read.
    #[error("indicator '{id}': {key}: {source}")]
    Predicate {
        /// The indicator.
        id: String,
        /// `numerator` or `denominator`.
        key: &'static str,
        /// Why.
        source: Box<PredicateError>,
    },
    /// Another problem of one indicator.
    #[error("indicator '{id}': {problem}")]
    Indicator {
        /// The indicator.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

/// Which direction is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// A rising proportion is an improvement.
    #[default]
    Higher,
    /// A falling proportion is an improvement.
    Lower,
}

/// One indicator.
#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    /// Identifier.
    pub id: String,
    /// English label.
    pub label: String,
    /// Spanish label.
    pub label_es: String,
    /// Households counted (among the denominator's).
    pub numerator: Predicate,
    /// Households the proportion is of.
    pub denominator: Predicate,
    /// Direction of improvement.
    pub better: Better,
}

impl Indicator {
    /// The risk fields the indicators of `list` read (for
    /// [`Records::from_store_reading`](super::data::Records::from_store_reading)).
    pub fn fields_of(list: &[&Indicator]) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for i in list {
            for f in i
                .numerator
                .fields()
                .into_iter()
                .chain(i.denominator.fields())
            {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// Whether either predicate reads the restricted violence risk.
    pub fn reads_violence(&self) -> bool {
        self.numerator.reads_violence() || self.denominator.reads_violence()
    }
}

impl Serialize for Predicate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The evaluation design of `chaski did`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Design {
    /// Attribute of the communities layer holding the group.
    pub group_field: String,
    /// Value of the intervention group.
    pub intervention: String,
    /// Value of the control group.
    pub control: String,
    /// Baseline round (`visit_round`).
    pub baseline: i64,
    /// Endline round.
    pub endline: i64,
}

impl Default for Design {
    fn default() -> Self {
        Self {
            group_field: "group".into(),
            intervention: "intervention".into(),
            control: "control".into(),
            baseline: 1,
            endline: 2,
        }
    }
}

/// The parsed indicator file.
#[derive(Debug, Clone)]
pub struct Indicators {
    /// The indicators, in file order.
    pub list: Vec<Indicator>,
    /// The evaluation design.
    pub design: Design,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    design: Design,
    #[serde(default)]
    indicator: Vec<RawIndicator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    id: String,
    label: Option<String>,
    label_es: Option<String>,
    numerator: String,
    denominator: String,
    #[serde(default)]
    better: Better,
}

impl Indicators {
    /// The built-in indicators ([`DEFAULT_TOML`]).
    pub fn defaults() -> Self {
        Self::parse(DEFAULT_TOML).expect("the built-in indicator file is valid")
    }

    /// Parse an indicator file.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        if raw.indicator.is_empty() {
            return Err(ConfigError::Toml(
                "no [[indicator]]: the file defines no indicator".into(),
            ));
        }
        if raw.design.baseline == raw.design.endline {
            return Err(ConfigError::Toml(format!(
                "[design]: baseline and endline are both round {}",
                raw.design.baseline
            )));
        }
        let mut list: Vec<Indicator> = Vec::new();
        for r in raw.indicator {
            let bad = |problem: String| ConfigError::Indicator {
                id: r.id.clone(),
                problem,
            };
            if r.id.is_empty()
                || !r
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(bad("id: use letters, digits, '_' and '-' only".to_owned()));
            }
            if list.iter().any(|i| i.id == r.id) {
                return Err(bad("id: defined twice".to_owned()));
            }
            let parse = |key: &'static str, text: &str| {
                Predicate::parse(text).map_err(|source| ConfigError::Predicate {
                    id: r.id.clone(),
                    key,
                    source: Box::new(source),
                })
            };
            let numerator = parse("numerator", &r.numerator)?;
            let denominator = parse("denominator", &r.denominator)?;
            let label = r.label.clone().unwrap_or_else(|| r.id.clone());
            list.push(Indicator {
                label_es: r.label_es.clone().unwrap_or_else(|| label.clone()),
                label,
                id: r.id,
                numerator,
                denominator,
                better: r.better,
            });
        }
        Ok(Self {
            list,
            design: raw.design,
        })
    }

    /// The indicator `id`.
    pub fn find(&self, id: &str) -> Option<&Indicator> {
        self.list.iter().find(|i| i.id == id)
    }

    /// The indicators named in `ids` (comma-separated; empty or None: all),
    /// or the unknown id and the known ones.
    pub fn select(&self, ids: Option<&str>) -> Result<Vec<&Indicator>, String> {
        let Some(ids) = ids.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(self.list.iter().collect());
        };
        ids.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|id| {
                self.find(id).ok_or_else(|| {
                    format!(
                        "unknown indicator '{id}' (known: {})",
                        self.list
                            .iter()
                            .map(|i| i.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect()
    }
}
