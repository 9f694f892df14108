//! The words a planner types for a travel-time run, each parsed once here and
//! used by the command line (clap's `value_parser`) and the HTTP query
//! parameters alike: scenario presets ([`Preset`]), the birth-care level of
//! the sources ([`BirthCareFilter`]), the facility category filter
//! ([`CategoryFilter`], e.g. `>=I-3`), the direction of travel
//! ([`Direction`]) and the move set ([`Neighbourhood`], parsed in
//! [`super::cost`]). Parsing ignores case and surrounding spaces; errors name
//! the value and what was expected, never a command-line flag.
//!
//! ```
//! use chaski_analysis::travel::cost::Direction;
//! use chaski_analysis::travel::vocab::{CategoryFilter, Preset};
//! use chaski_core::domain::Category;
//!
//! assert_eq!("Rainy".parse::<Preset>().unwrap(), Preset::RainySeason);
//! assert_eq!("from".parse::<Direction>().unwrap(), Direction::FromSource);
//! let c: CategoryFilter = ">=II-E".parse().unwrap();
//! assert_eq!(c.categories(), &[Category::IIE, Category::III1, Category::III2, Category::IIIE]);
//! let e = "uphill".parse::<Direction>().unwrap_err();
//! assert_eq!(e.to_string(), "'uphill' is not one of to, from");
//! ```

use super::cost::{Direction, Neighbourhood};
use super::scenario::Scenario;
use chaski_core::domain::Category;
use std::fmt;
use std::str::FromStr;

/// A word that is not in its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VocabError {
    /// Not one of a closed list of words.
    #[error("'{value}' is not one of {expected}")]
    NotOneOf {
        /// The value given.
        value: String,
        /// The words accepted, comma-separated.
        expected: &'static str,
    },
    /// A category expression that cannot be read.
    #[error("'{value}': {reason} (e.g. '>=I-3', 'I-4', 'I-3,I-4')")]
    Category {
        /// The expression given.
        value: String,
        /// Why.
        reason: String,
    },
}

pub(crate) fn not_one_of(value: &str, expected: &'static str) -> VocabError {
    VocabError::NotOneOf {
        value: value.to_owned(),
        expected,
    }
}

/// A built-in scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// On foot (Tobler, off path 0.6): `walking`.
    Walking,
    /// Vehicles on roads, walking elsewhere: `motorised` (or `motorized`).
    Motorised,
    /// Fords closed, slower walking and unpaved roads: `rainy` (or `rainy_season`).
    RainySeason,
    /// A woman in labour walking with company: `pregnant` (or `pregnant_woman`).
    PregnantWoman,
    /// A patient carried on a stretcher: `stretcher`.
    Stretcher,
}

impl Preset {
    /// Every preset, in the order of [`Preset::WORDS`].
    pub const ALL: [Self; 5] = [
        Self::Walking,
        Self::Motorised,
        Self::RainySeason,
        Self::PregnantWoman,
        Self::Stretcher,
    ];
    /// The short words accepted (aliases apart).
    pub const WORDS: &'static str = "walking, motorised, rainy, pregnant, stretcher";

    /// The scenario's name (`walking`, `motorised`, `rainy_season`,
    /// `pregnant_woman`, `stretcher`), as reports and caches show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Walking => "walking",
            Self::Motorised => "motorised",
            Self::RainySeason => "rainy_season",
            Self::PregnantWoman => "pregnant_woman",
            Self::Stretcher => "stretcher",
        }
    }

    /// The scenario.
    pub fn scenario(self) -> Scenario {
        match self {
            Self::Walking => Scenario::walking(),
            Self::Motorised => Scenario::motorised(),
            Self::RainySeason => Scenario::rainy_season(),
            Self::PregnantWoman => Scenario::pregnant_woman(),
            Self::Stretcher => Scenario::stretcher(),
        }
    }
}

impl FromStr for Preset {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "walking" => Self::Walking,
            "motorised" | "motorized" => Self::Motorised,
            "rainy" | "rainy_season" => Self::RainySeason,
            "pregnant" | "pregnant_woman" => Self::PregnantWoman,
            "stretcher" => Self::Stretcher,
            _ => return Err(not_one_of(s, Self::WORDS)),
        })
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Birth-care level required of the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BirthCareFilter {
    /// Basic or complete emergency obstetric care: `basic`.
    Basic,
    /// Complete emergency obstetric care: `complete`.
    Complete,
}

impl BirthCareFilter {
    /// `basic` or `complete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Complete => "complete",
        }
    }
}

impl FromStr for BirthCareFilter {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "basic" => Ok(Self::Basic),
            "complete" => Ok(Self::Complete),
            _ => Err(not_one_of(s, "basic, complete")),
        }
    }
}

impl fmt::Display for BirthCareFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = VocabError;
    /// `to` (to the facility) or `from` (from the facility).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "to" | "to_source" => Ok(Self::ToSource),
            "from" | "from_source" => Ok(Self::FromSource),
            _ => Err(not_one_of(s, "to, from")),
        }
    }
}

impl Direction {
    /// In words: "to the facility" or "from the facility".
    pub fn describe(self) -> &'static str {
        match self {
            Self::ToSource => "to the facility",
            Self::FromSource => "from the facility",
        }
    }

    /// The word that parses to it: `to` or `from`.
    pub fn word(self) -> &'static str {
        match self {
            Self::ToSource => "to",
            Self::FromSource => "from",
        }
    }
}

/// The facility categories of a category expression: `>=I-3`, `>I-2`,
/// `<=I-2`, `<I-3`, `=I-4`, `I-4` or a list `I-3,I-4` (MINSA levels I-1 to
/// III-E in their order of complexity).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CategoryFilter {
    text: String,
    categories: Vec<Category>,
}

impl CategoryFilter {
    /// The categories selected, in order, without repeats.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }
}

/// Whether category `a` passes a comparison with bound `b`.
type Keep = fn(Category, Category) -> bool;

impl FromStr for CategoryFilter {
    type Err = VocabError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| VocabError::Category {
            value: text.to_owned(),
            reason,
        };
        let parse = |s: &str| s.trim().parse::<Category>().map_err(|e| err(e.to_string()));
        let t = text.trim();
        let ops: [(&str, Keep); 5] = [
            (">=", |a, b| a >= b),
            ("<=", |a, b| a <= b),
            (">", |a, b| a > b),
            ("<", |a, b| a < b),
            ("=", |a, b| a == b),
        ];
        let mut categories = match ops.iter().find(|(op, _)| t.starts_with(op)) {
            Some((op, keep)) => {
                let bound = parse(&t[op.len()..])?;
                let out: Vec<Category> = Category::ALL
                    .into_iter()
                    .filter(|&c| keep(c, bound))
                    .collect();
                if out.is_empty() {
                    return Err(err("selects no category".to_owned()));
                }
                out
            }
            None => t.split(',').map(parse).collect::<Result<Vec<_>, _>>()?,
        };
        categories.sort();
        categories.dedup();
        Ok(Self {
            text: t.to_owned(),
            categories,
        })
    }
}

impl fmt::Display for CategoryFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The move sets: `8` (as GRASS `r.cost`), `16` (as `r.cost -k`, the default)
/// or `24` (also three-by-one moves).
pub const MOVE_SETS: &str = "8, 16, 24";

/// `8`, `16` or `24` moves.
///
/// ```
/// use chaski_analysis::travel::cost::Neighbourhood;
/// assert_eq!("24".parse::<Neighbourhood>(), Ok(Neighbourhood::Extended24));
/// assert_eq!(Neighbourhood::Queen8.to_string(), "8");
/// assert!("12".parse::<Neighbourhood>().is_err());
/// ```
impl FromStr for Neighbourhood {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "8" => Ok(Self::Queen8),
            "16" => Ok(Self::Knight16),
            "24" => Ok(Self::Extended24),
            _ => Err(not_one_of(
                s,
                "8 (as GRASS r.cost), 16 (as r.cost -k, the default), 24",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaski_core::domain::Category::{I1, I2, I3, I4, II1, II2, IIE, III1, III2, IIIE};

    #[test]
    fn category_expressions() {
        let p = |s: &str| s.parse::<CategoryFilter>().unwrap().categories().to_vec();
        assert_eq!(p(">=I-3"), vec![I3, I4, II1, II2, IIE, III1, III2, IIIE]);
        assert_eq!(p(">II-E"), vec![III1, III2, IIIE]);
        assert_eq!(p("<I-3"), vec![I1, I2]);
        assert_eq!(p("<=i2"), vec![I1, I2]);
        assert_eq!(p("=I-4"), vec![I4]);
        assert_eq!(p("I-4, I-3,I-4"), vec![I3, I4]);
        for bad in ["<I-1", ">=IV", "I-3,,I-4", ""] {
            assert!(bad.parse::<CategoryFilter>().is_err(), "{bad}");
        }
        assert_eq!(
            "<I-1".parse::<CategoryFilter>().unwrap_err().to_string(),
            "'<I-1': selects no category (e.g. '>=I-3', 'I-4', 'I-3,I-4')"
        );
    }

    #[test]
    fn every_word_parses_back() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>(), Ok(p));
        }
        for w in Preset::WORDS.split(", ") {
            assert!(w.parse::<Preset>().is_ok(), "{w}");
        }
        for d in [Direction::ToSource, Direction::FromSource] {
            assert_eq!(d.word().parse::<Direction>(), Ok(d));
        }
        for b in [BirthCareFilter::Basic, BirthCareFilter::Complete] {
            assert_eq!(b.as_str().parse::<BirthCareFilter>(), Ok(b));
        }
        for m in MOVE_SETS.split(", ") {
            assert!(m.parse::<Neighbourhood>().is_ok(), "{m}");
        }
        assert_eq!(
            " Motorized ".parse::<Preset>(),
            Ok(Preset::Motorised),
            "case and spaces are ignored"
        );
        assert_eq!(
            "car".parse::<Preset>().unwrap_err().to_string(),
            "'car' is not one of walking, motorised, rainy, pregnant, stretcher"
        );
    }
}
