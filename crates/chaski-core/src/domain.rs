//! Domain vocabularies: facility categories, birth-care levels, water-system status
//! and household risk levels, parsed leniently from the many spellings sources use.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value could not be parsed into one of the domain vocabularies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {what} (expected {expected})")]
pub struct ParseDomainError {
    /// The rejected text.
    pub value: String,
    /// What was being parsed.
    pub what: &'static str,
    /// The accepted values.
    pub expected: &'static str,
}

/// Category of a Peruvian health facility (IPRESS), by level of care.
///
/// Level I is primary care (I-1 health post with a technician, up to I-4 health
/// centre with beds), level II regional hospitals, level III national referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Category {
    /// Health post, technical staff.
    #[serde(rename = "I-1")]
    I1,
    /// Health post with a professional.
    #[serde(rename = "I-2")]
    I2,
    /// Health centre without beds.
    #[serde(rename = "I-3")]
    I3,
    /// Health centre with beds.
    #[serde(rename = "I-4")]
    I4,
    /// General hospital.
    #[serde(rename = "II-1")]
    II1,
    /// Regional hospital.
    #[serde(rename = "II-2")]
    II2,
    /// Specialised facility, level II.
    #[serde(rename = "II-E")]
    IIE,
    /// National hospital.
    #[serde(rename = "III-1")]
    III1,
    /// National institute.
    #[serde(rename = "III-2")]
    III2,
    /// Specialised facility, level III.
    #[serde(rename = "III-E")]
    IIIE,
}

impl Category {
    /// All categories in ascending order of care.
    pub const ALL: [Category; 10] = [
        Self::I1,
        Self::I2,
        Self::I3,
        Self::I4,
        Self::II1,
        Self::II2,
        Self::IIE,
        Self::III1,
        Self::III2,
        Self::IIIE,
    ];

    /// Canonical spelling, e.g. `I-3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::I1 => "I-1",
            Self::I2 => "I-2",
            Self::I3 => "I-3",
            Self::I4 => "I-4",
            Self::II1 => "II-1",
            Self::II2 => "II-2",
            Self::IIE => "II-E",
            Self::III1 => "III-1",
            Self::III2 => "III-2",
            Self::IIIE => "III-E",
        }
    }

    /// Level of care: 1, 2 or 3.
    pub fn level(self) -> u8 {
        match self {
            Self::I1 | Self::I2 | Self::I3 | Self::I4 => 1,
            Self::II1 | Self::II2 | Self::IIE => 2,
            Self::III1 | Self::III2 | Self::IIIE => 3,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = ParseDomainError;

    /// Accepts `I-3`, `i-3`, `I 3`, `I3`, `I - 3`, `III-E`, `II E`.
    ///
    /// ```
    /// use chaski_core::domain::Category;
    /// assert_eq!("ii - e".parse::<Category>().unwrap(), Category::IIE);
    /// assert_eq!("I3".parse::<Category>().unwrap(), Category::I3);
    /// assert!("IV-1".parse::<Category>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_uppercase();
        let cat = match compact.as_str() {
            "I1" => Self::I1,
            "I2" => Self::I2,
            "I3" => Self::I3,
            "I4" => Self::I4,
            "II1" => Self::II1,
            "II2" => Self::II2,
            "IIE" => Self::IIE,
            "III1" => Self::III1,
            "III2" => Self::III2,
            "IIIE" => Self::IIIE,
            _ => {
                return Err(ParseDomainError {
                    value: s.to_owned(),
                    what: "facility category",
                    expected: "I-1, I-2, I-3, I-4, II-1, II-2, II-E, III-1, III-2 or III-E",
                });
            }
        };
        Ok(cat)
    }
}

/// Birth-care capability (emergency obstetric and neonatal care, EmONC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BirthCare {
    /// No birth care.
    None,
    /// Basic emergency obstetric care (FONB).
    Basic,
    /// Complete (comprehensive) emergency obstetric care (FONE/FONI).
    Complete,
}

impl BirthCare {
    /// Canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic => "basic",
            Self::Complete => "complete",
        }
    }
}

impl FromStr for BirthCare {
    type Err = ParseDomainError;

    /// ```
    /// use chaski_core::domain::BirthCare;
    /// assert_eq!("FONB".parse::<BirthCare>().unwrap(), BirthCare::Basic);
    /// assert_eq!("Completa".parse::<BirthCare>().unwrap(), BirthCare::Complete);
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = crate::schema::normalize_name(s);
        Ok(match n.as_str() {
            "none" | "no" | "ninguna" | "ninguno" | "0" | "fonp" => Self::None,
            "basic" | "basica" | "fonb" | "bemonc" | "1" => Self::Basic,
            "complete" | "completa" | "comprehensive" | "fone" | "foni" | "cemonc" | "2" => {
                Self::Complete
            }
            _ => {
                return Err(ParseDomainError {
                    value: s.to_owned(),
                    what: "birth-care level",
                    expected: "none, basic (FONB) or complete (FONE/FONI)",
                });
            }
        })
    }
}

/// Operating status of a water system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaterStatus {
    /// Working.
    Operational,
    /// Working with deficiencies (intermittent, partial coverage).
    Partial,
    /// Not working.
    Down,
}

impl WaterStatus {
    /// Canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::Partial => "partial",
            Self::Down => "down",
        }
    }
}

impl FromStr for WaterStatus {
    type Err = ParseDomainError;

    /// ```
    /// use chaski_core::domain::WaterStatus;
    /// assert_eq!("Operativo".parse::<WaterStatus>().unwrap(), WaterStatus::Operational);
    /// assert_eq!("inoperativo".parse::<WaterStatus>().unwrap(), WaterStatus::Down);
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = crate::schema::normalize_name(s);
        Ok(match n.as_str() {
            "operational" | "operativo" | "funciona" | "bueno" | "ok" => Self::Operational,
            "partial" | "parcial" | "regular" | "deficiente" | "intermitente" => Self::Partial,
            "down" | "inoperativo" | "no_funciona" | "malo" | "colapsado" => Self::Down,
            _ => {
                return Err(ParseDomainError {
                    value: s.to_owned(),
                    what: "water-system status",
                    expected: "operational, partial or down",
                });
            }
        })
    }
}

/// Household risk level, as CHAs record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Low.
    Bajo,
    /// Medium.
    Medio,
    /// High.
    Alto,
}

impl RiskLevel {
    /// Canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bajo => "bajo",
            Self::Medio => "medio",
            Self::Alto => "alto",
        }
    }
}

impl FromStr for RiskLevel {
    type Err = ParseDomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = crate::schema::normalize_name(s);
        Ok(match n.as_str() {
            "bajo" | "low" | "1" => Self::Bajo,
            "medio" | "medium" | "2" => Self::Medio,
            "alto" | "high" | "3" => Self::Alto,
            _ => {
                return Err(ParseDomainError {
                    value: s.to_owned(),
                    what: "risk level",
                    expected: "alto, medio or bajo",
                });
            }
        })
    }
}
