//! The sources of a search: the facilities of a layer that pass the category and birth-care filter.

use super::features::{point_of, text};
use crate::travel::vocab::{BirthCareFilter, CategoryFilter};
use chaski_core::Layer;
use chaski_core::domain::{BirthCare, Category};

/// Which facilities are sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFilter {
    categories: Option<Vec<Category>>,
    birth_care: Option<BirthCareFilter>,
}

impl SourceFilter {
    /// A filter of categories and a birth-care level (basic includes complete);
    /// None: any.
    pub fn new(category: Option<&CategoryFilter>, birth_care: Option<BirthCareFilter>) -> Self {
        Self {
            categories: category.map(|c| c.categories().to_vec()),
            birth_care,
        }
    }

    /// The categories selected (None: all).
    pub fn categories(&self) -> Option<&[Category]> {
        self.categories.as_deref()
    }

    /// The birth-care level required.
    pub fn birth_care(&self) -> Option<BirthCareFilter> {
        self.birth_care
    }

    /// Whether a facility of this category and birth care is a source.
    pub fn accepts(&self, category: Option<Category>, birth_care: Option<BirthCare>) -> bool {
        let cat_ok = match &self.categories {
            None => true,
            Some(list) => category.is_some_and(|c| list.contains(&c)),
        };
        let bc_ok = match self.birth_care {
            None => true,
            Some(BirthCareFilter::Basic) => {
                matches!(birth_care, Some(BirthCare::Basic | BirthCare::Complete))
            }
            Some(BirthCareFilter::Complete) => birth_care == Some(BirthCare::Complete),
        };
        cat_ok && bc_ok
    }

    /// The facilities of `list` it accepts.
    pub fn select(&self, list: &[Facility]) -> Vec<Facility> {
        list.iter()
            .filter(|f| self.accepts(f.category.parse().ok(), f.birth_care))
            .cloned()
            .collect()
    }

    /// In words: "all", "category I-3, I-4 and basic or complete birth care".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.categories {
            let names: Vec<&str> = c.iter().map(|c| c.as_str()).collect();
            parts.push(format!("category {}", names.join(", ")));
        }
        if let Some(b) = self.birth_care {
            parts.push(match b {
                BirthCareFilter::Basic => "basic or complete birth care".to_owned(),
                BirthCareFilter::Complete => "complete birth care".to_owned(),
            });
        }
        if parts.is_empty() {
            "all".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

/// One facility (or any source), located.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// RENIPRESS code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Category text.
    pub category: String,
    /// Birth-care level, when known.
    pub birth_care: Option<BirthCare>,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
}

/// The facilities of `layer` that pass `filter`.
pub fn facilities(layer: &Layer, filter: &SourceFilter) -> Vec<Facility> {
    layer
        .features
        .iter()
        .filter_map(|f| {
            let category = text(layer, f, "category");
            let cat = category.parse::<Category>().ok();
            let bc = layer
                .value(f, "birth_care")
                .as_str()
                .and_then(|s| s.parse::<BirthCare>().ok());
            if !filter.accepts(cat, bc) {
                return None;
            }
            Some(Facility {
                code: text(layer, f, "code"),
                name: text(layer, f, "name"),
                category,
                birth_care: bc,
                lonlat: point_of(&f.geometry)?,
            })
        })
        .collect()
}
