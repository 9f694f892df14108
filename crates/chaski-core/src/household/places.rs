//! The register of places: which communities each CHA sector and each
//! facility records households in.
//!
//! A CHA token's scope is a sector and a facility token's scope a RENIPRESS
//! code; the register says what else lies in that scope. A [`Place`] is one
//! (facility, sector, community) triple. Admin writes (imports, admin
//! uploads) register the places of their records; admins can also add and
//! remove places by hand (`chaski places`). Scoped tokens write only
//! households whose (facility, sector, community) is a registered place of
//! their scope, so a CHA cannot place records in another sector's
//! communities and a facility cannot plant rows into another facility's
//! sectors. Deleting households never unregisters a place.
//!
//! ```
//! use chaski_core::household::places::{Place, Places};
//!
//! let places = Places::new([
//!     Place::new("0001", "CP01-S1", "CP01"),
//!     Place::new("0001", "CP01-S2", "CP01"),
//!     Place::new("0002", "CP07-S1", "CP07"),
//! ]);
//! assert!(places.contains(&Place::new("0001", "CP01-S1", "CP01")));
//! assert_eq!(places.facilities_of("CP01-S1", "CP01"), vec!["0001"]);
//! assert_eq!(places.communities_of_sector("CP07-S1"), vec!["CP07"]);
//! assert_eq!(places.sectors_of_facility("0001"), vec!["CP01-S1", "CP01-S2"]);
//! ```

use crate::layer::Layer;
use crate::value::Value;
use std::collections::BTreeSet;

/// One registered place: households of `facility`, CHA sector `sector`, in
/// community `community`. An empty facility or sector stands for records
/// that carry none.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Place {
    /// RENIPRESS code of the facility ("" for none).
    pub facility: String,
    /// CHA sector ("" for none).
    pub sector: String,
    /// Community (centro poblado) code, never empty.
    pub community: String,
}

impl Place {
    /// A place from its three codes (trimmed).
    pub fn new(facility: &str, sector: &str, community: &str) -> Self {
        Self {
            facility: facility.trim().to_owned(),
            sector: sector.trim().to_owned(),
            community: community.trim().to_owned(),
        }
    }

    /// The place of a household record (None when it has no community).
    pub fn of_record(layer: &Layer, values: &[Value]) -> Option<Self> {
        let community = text(layer, values, "community");
        (!community.is_empty()).then(|| Self {
            facility: text(layer, values, "facility"),
            sector: text(layer, values, "cha_sector"),
            community,
        })
    }
}

/// The trimmed text of field `name` of a record ("" when missing or not text).
pub fn text(layer: &Layer, values: &[Value], name: &str) -> String {
    match layer.field_index(name).and_then(|i| values.get(i)) {
        Some(Value::Text(t)) => t.trim().to_owned(),
        Some(Value::Int(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A set of registered places.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    set: BTreeSet<Place>,
}

impl Places {
    /// The register holding `places`.
    pub fn new(places: impl IntoIterator<Item = Place>) -> Self {
        Self {
            set: places.into_iter().collect(),
        }
    }

    /// Whether `place` is registered.
    pub fn contains(&self, place: &Place) -> bool {
        self.set.contains(place)
    }

    /// Every place, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Place> {
        self.set.iter()
    }

    /// Number of places.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether no place is registered.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Facilities registered for households of `sector` in `community`.
    pub fn facilities_of(&self, sector: &str, community: &str) -> Vec<&str> {
        self.set
            .iter()
            .filter(|p| p.sector == sector && p.community == community)
            .map(|p| p.facility.as_str())
            .collect()
    }

    /// Communities of a CHA sector, in order.
    pub fn communities_of_sector(&self, sector: &str) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .set
            .iter()
            .filter(|p| p.sector == sector)
            .map(|p| p.community.as_str())
            .collect();
        set.into_iter().collect()
    }

    /// CHA sectors of a facility (non-empty ones), in order.
    pub fn sectors_of_facility(&self, facility: &str) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .set
            .iter()
            .filter(|p| p.facility == facility && !p.sector.is_empty())
            .map(|p| p.sector.as_str())
            .collect();
        set.into_iter().collect()
    }

    /// The places of `layer`'s records that are not registered yet, in order.
    pub fn missing_from(&self, layer: &Layer) -> Vec<Place> {
        let new: BTreeSet<Place> = layer
            .features
            .iter()
            .filter_map(|f| Place::of_record(layer, &f.values))
            .filter(|p| !self.contains(p))
            .collect();
        new.into_iter().collect()
    }
}
