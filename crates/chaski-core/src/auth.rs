//! Access control for private household data: roles, bearer tokens and what
//! each role may see.
//!
//! A [`Token`] grants a [`Role`], optionally limited to a scope (a CHA sector
//! for [`Role::Cha`], a RENIPRESS facility code for [`Role::Facility`]), and
//! optionally the `violence` grant that reveals the `violence_risk` field.
//! Token secrets are random (32 bytes from the thread CSPRNG, hex encoded,
//! prefixed `chk_`), shown once at creation, and stored only as their SHA-256
//! hash; verification compares hashes in constant time.
//!
//! [`Visibility`] applies an [`Access`] to household features: which features
//! the caller may see, which fields are stripped, and `risk_level` derived
//! again without the violence risk for callers who may not see it (a stored
//! `alto` with no other reason would otherwise reveal it).
//!
//! The role policy says which role may ask for which answer, whatever
//! serves it (HTTP or the command line):
//!
//! | role | household records | writes | clusters | member codes | tile layer `households` | tile layer `clusters` |
//! |---|---|---|---|---|---|---|
//! | public | no | no | no | no | no | no |
//! | analyst | no | no | over all | no | no | over all |
//! | admin | all | any layer | over all | yes | all | over all |
//! | cha, facility | their scope | `households`, their scope | over their scope | their scope's | their scope | over their scope |
//!
//! See [`Role::sees_households`], [`Role::may_write_households`],
//! [`Role::may_choose_household_layer`], [`Role::may_ask_clusters`],
//! [`Role::may_see_cluster_members`], [`Role::may_see_layer`] and, for what
//! an answer is computed from, [`Access::scope_key`].

use crate::household::places::Place;
use crate::layer::{Feature, Layer};
use crate::value::Value;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

/// Prefix of every token secret (lets secret scanners recognise leaked tokens).
pub const SECRET_PREFIX: &str = "chk_";

/// Name of the household field holding the CHA sector.
pub const FIELD_CHA_SECTOR: &str = "cha_sector";
/// Name of the household field holding the facility's RENIPRESS code.
pub const FIELD_FACILITY: &str = "facility";
/// Name of the restricted household field.
pub const FIELD_VIOLENCE_RISK: &str = "violence_risk";
/// Name of the household field derived with the violence risk.
pub const FIELD_RISK_LEVEL: &str = "risk_level";

/// An error of token handling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A role name that is not one of public, analyst, cha, facility, admin.
    #[error("unknown role '{0}': expected public, analyst, cha, facility or admin")]
    UnknownRole(String),
    /// A scoped role without a scope, or an unscoped role with one.
    #[error("role '{role}': {problem}")]
    BadScope {
        /// The role.
        role: Role,
        /// What is wrong.
        problem: &'static str,
    },
    /// No token with this id.
    #[error("no token with id '{0}'")]
    NotFound(String),
    /// The backend storing the tokens failed.
    #[error("token store: {0}")]
    Backend(String),
}

/// A role of a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Anyone without a token: aggregates only.
    Public,
    /// Health-office analyst: clusters and aggregates computed over every
    /// household, but no household records or points.
    Analyst,
    /// Community health agent: the households of one CHA sector (scope).
    Cha,
    /// Health facility: the households assigned to one RENIPRESS code (scope).
    Facility,
    /// Every household; manages tokens.
    Admin,
}

impl Role {
    /// Lower-case name (as accepted by [`FromStr`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Analyst => "analyst",
            Self::Cha => "cha",
            Self::Facility => "facility",
            Self::Admin => "admin",
        }
    }

    /// Whether the role needs a scope (CHA sector or RENIPRESS code).
    pub fn is_scoped(self) -> bool {
        matches!(self, Self::Cha | Self::Facility)
    }

    /// Whether the role may see individual household records or points
    /// (admin; CHA and facility within their scope). Analysts work with
    /// clusters and aggregates, public callers with aggregates only.
    pub fn sees_households(self) -> bool {
        matches!(self, Self::Admin | Self::Cha | Self::Facility)
    }

    /// Whether the role may write household records (uploads, deletions):
    /// admin, and CHA and facility within their scope.
    pub fn may_write_households(self) -> bool {
        matches!(self, Self::Admin | Self::Cha | Self::Facility)
    }

    /// Whether the role may name the household layer a write goes to (admin
    /// only; every other role writes to `households`).
    pub fn may_choose_household_layer(self) -> bool {
        self == Self::Admin
    }

    /// Whether the role may ask for clusters of households: every role with a
    /// token (clusters are drawn from household points, so never the public).
    pub fn may_ask_clusters(self) -> bool {
        self != Self::Public
    }

    /// Whether the role may receive the member household codes of clusters:
    /// only the roles that see household records, never analysts.
    pub fn may_see_cluster_members(self) -> bool {
        self.sees_households()
    }

    /// Whether the role may see the private tile layer `layer`: household
    /// points for the roles that see household records, clusters for every
    /// role that may ask for clusters.
    pub fn may_see_layer(self, layer: PrivateLayer) -> bool {
        match layer {
            PrivateLayer::Households => self.sees_households(),
            PrivateLayer::Clusters => self.may_ask_clusters(),
        }
    }
}

/// A tile layer drawn from household points, served only to the roles that
/// may see it (see [`Role::may_see_layer`]) and never part of a public catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivateLayer {
    /// The households the caller may see, as points.
    Households,
    /// The clusters of the households the caller may see, as polygons.
    Clusters,
}

impl PrivateLayer {
    /// Every private layer, in the order they are listed.
    pub const ALL: [Self; 2] = [Self::Households, Self::Clusters];

    /// Name of the tile layer.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Households => "households",
            Self::Clusters => "clusters",
        }
    }

    /// The private layer named `name`; None for any other name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// Whether `role` may see the tile layer `name` (None: not a private layer).
pub fn may_see_layer(role: Role, name: &str) -> Option<bool> {
    PrivateLayer::from_name(name).map(|l| role.may_see_layer(l))
}

/// Whether a list of flags (case definitions of clusters, such as
/// `anaemia,violence_risk`) reads the restricted violence risk.
pub fn reads_violence(flags: &str) -> bool {
    flags.to_ascii_lowercase().contains(FIELD_VIOLENCE_RISK)
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "public" => Ok(Self::Public),
            "analyst" => Ok(Self::Analyst),
            "cha" | "acs" => Ok(Self::Cha),
            "facility" | "ipress" => Ok(Self::Facility),
            "admin" => Ok(Self::Admin),
            _ => Err(AuthError::UnknownRole(s.to_owned())),
        }
    }
}

/// The rights of one caller: role, scope and the violence grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Role.
    pub role: Role,
    /// CHA sector (for `Cha`) or RENIPRESS code (for `Facility`).
    pub scope: Option<String>,
    /// May see `violence_risk`.
    pub violence: bool,
}

impl Access {
    /// The rights of a caller without a token.
    pub fn public() -> Self {
        Self {
            role: Role::Public,
            scope: None,
            violence: false,
        }
    }

    /// Checked rights: a scoped role needs a non-empty scope, others take none;
    /// the public role cannot hold the violence grant.
    pub fn new(role: Role, scope: Option<String>, violence: bool) -> Result<Self, AuthError> {
        let scope = scope.map(|s| s.trim().to_owned());
        match (role.is_scoped(), scope.as_deref()) {
            (true, None | Some("")) => {
                return Err(AuthError::BadScope {
                    role,
                    problem: "needs a scope (CHA sector or RENIPRESS code)",
                });
            }
            (false, Some(_)) => {
                return Err(AuthError::BadScope {
                    role,
                    problem: "takes no scope",
                });
            }
            _ => {}
        }
        if role == Role::Public && violence {
            return Err(AuthError::BadScope {
                role,
                problem: "cannot hold the violence grant",
            });
        }
        Ok(Self {
            role,
            scope,
            violence,
        })
    }

    /// Whether the caller may read household field `name`: `violence_risk`
    /// needs the violence grant, other fields are as the role sees them.
    pub fn may_read_field(&self, name: &str) -> bool {
        name != FIELD_VIOLENCE_RISK || self.violence
    }

    /// The rights that shape an answer: the violence grant counts only when
    /// the answer reads the violence risk (`reads_violence`), so callers who
    /// differ in nothing else share the answer.
    #[must_use]
    pub fn for_answer(&self, reads_violence: bool) -> Self {
        Self {
            violence: self.violence && reads_violence,
            ..self.clone()
        }
    }

    /// Which households the caller's answers are computed from, as a cache-key
    /// part: `none` (public), `all` (analyst and admin alike), `cha:SECTOR` or
    /// `facility:CODE`, with `+violence` for the violence grant. Callers with
    /// the same key are given the same answers.
    pub fn scope_key(&self) -> String {
        let scope = match self.role {
            Role::Public => "none".to_owned(),
            Role::Analyst | Role::Admin => "all".to_owned(),
            Role::Cha => format!("cha:{}", self.scope.as_deref().unwrap_or("")),
            Role::Facility => format!("facility:{}", self.scope.as_deref().unwrap_or("")),
        };
        if self.violence {
            format!("{scope}+violence")
        } else {
            scope
        }
    }
}

/// A stored token (never holds the secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Token {
    /// Public id (16 hex digits), used to list, revoke and in the access log.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Scope of a scoped role.
    pub scope: Option<String>,
    /// May see `violence_risk`.
    pub violence: bool,
    /// Free text saying whose token it is.
    pub label: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Revocation time, seconds since the Unix epoch.
    pub revoked: Option<i64>,
}

impl Token {
    /// The rights this token grants.
    pub fn access(&self) -> Access {
        Access {
            role: self.role,
            scope: self.scope.clone(),
            violence: self.violence,
        }
    }
}

/// One entry of the access log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessEntry {
    /// Token id (None for an anonymous caller; `cli:USER` for the command line).
    pub who: Option<String>,
    /// What was accessed (endpoint).
    pub what: String,
    /// Seconds since the Unix epoch.
    pub when: i64,
    /// Records returned, written or deleted.
    pub count: u64,
    /// HTTP status of the answer (200 for a release of data; 401, 403... for a
    /// refused attempt; 0 for the command line).
    pub status: u16,
    /// What was asked or why it was refused (query parameters, refusal
    /// reason); never a secret or household data.
    pub detail: Option<String>,
}

/// What to write to the access log (see [`AccessEntry`]; the time is added by the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    /// Token id, if any.
    pub who: Option<&'a str>,
    /// Endpoint or command.
    pub what: &'a str,
    /// Records returned, written or deleted.
    pub count: u64,
    /// HTTP status of the answer.
    pub status: u16,
    /// Query parameters or refusal reason.
    pub detail: Option<&'a str>,
}

impl<'a> AccessRecord<'a> {
    /// A release of `count` records to `who` from `what` (status 200, no detail).
    pub fn served(who: Option<&'a str>, what: &'a str, count: u64) -> Self {
        Self {
            who,
            what,
            count,
            status: 200,
            detail: None,
        }
    }
}

/// Where tokens and the access log live.
pub trait TokenStore: Send + Sync {
    /// Create a token; returns it with its secret, which is never shown again.
    fn create(&self, access: &Access, label: Option<&str>) -> Result<(Token, String), AuthError>;
    /// The live (not revoked) token whose secret is `secret`.
    fn verify(&self, secret: &str) -> Result<Option<Token>, AuthError>;
    /// Every token, revoked ones included, oldest first.
    fn list(&self) -> Result<Vec<Token>, AuthError>;
    /// Revoke token `id` (revoking twice is fine); `NotFound` when it does not exist.
    fn revoke(&self, id: &str) -> Result<(), AuthError>;
    /// Write one entry to the access log (committed before the call returns).
    fn log(&self, record: &AccessRecord<'_>) -> Result<(), AuthError>;
    /// Record that `who` received `count` records from `what` (status 200).
    fn log_access(&self, who: Option<&str>, what: &str, count: u64) -> Result<(), AuthError> {
        self.log(&AccessRecord::served(who, what, count))
    }
    /// The access log, oldest first.
    fn access_log(&self) -> Result<Vec<AccessEntry>, AuthError>;
    /// The register of places (see [`crate::household::places`]), in order.
    fn places(&self) -> Result<Vec<Place>, AuthError>;
    /// Register `places`; returns how many were new.
    fn add_places(&self, places: &[Place]) -> Result<usize, AuthError>;
    /// Unregister `places`; returns how many were registered.
    fn remove_places(&self, places: &[Place]) -> Result<usize, AuthError>;
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// A fresh secret: `chk_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex(&bytes))
}

/// A fresh token id: 8 random bytes in hex.
pub fn new_token_id() -> String {
    let mut bytes = [0_u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// SHA-256 of a secret, in hex (what stores keep).
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality of two byte strings (time depends only on the lengths).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Find the token whose hash matches `secret` among `(hash, token)` pairs,
/// comparing every candidate in constant time; revoked tokens never match.
pub fn find_by_secret<'a>(
    secret: &str,
    candidates: impl IntoIterator<Item = (&'a str, &'a Token)>,
) -> Option<Token> {
    let want = hash_secret(secret);
    let mut found = None;
    for (hash, token) in candidates {
        if ct_eq(hash.as_bytes(), want.as_bytes()) && token.revoked.is_none() {
            found = Some(token.clone());
        }
    }
    found
}

/// A new token for `access` (id and creation time filled in).
pub fn new_token(access: &Access, label: Option<&str>) -> Token {
    Token {
        id: new_token_id(),
        role: access.role,
        scope: access.scope.clone(),
        violence: access.violence,
        label: label.map(str::to_owned),
        created: now_unix(),
        revoked: None,
    }
}

#[derive(Default)]
struct MemoryInner {
    tokens: Vec<(String, Token)>,
    log: Vec<AccessEntry>,
    places: std::collections::BTreeSet<Place>,
}

/// Tokens and access log in memory (tests, demos).
#[derive(Default)]
pub struct MemoryTokenStore {
    inner: Mutex<MemoryInner>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStore for MemoryTokenStore {
    fn create(&self, access: &Access, label: Option<&str>) -> Result<(Token, String), AuthError> {
        let access = Access::new(access.role, access.scope.clone(), access.violence)?;
        let secret = new_secret();
        let token = new_token(&access, label);
        self.lock()
            .tokens
            .push((hash_secret(&secret), token.clone()));
        Ok((token, secret))
    }

    fn verify(&self, secret: &str) -> Result<Option<Token>, AuthError> {
        let inner = self.lock();
        Ok(find_by_secret(
            secret,
            inner.tokens.iter().map(|(h, t)| (h.as_str(), t)),
        ))
    }

    fn list(&self) -> Result<Vec<Token>, AuthError> {
        Ok(self.lock().tokens.iter().map(|(_, t)| t.clone()).collect())
    }

    fn revoke(&self, id: &str) -> Result<(), AuthError> {
        let mut inner = self.lock();
        let t = inner
            .tokens
            .iter_mut()
            .find(|(_, t)| t.id == id)
            .ok_or_else(|| AuthError::NotFound(id.to_owned()))?;
        if t.1.revoked.is_none() {
            t.1.revoked = Some(now_unix());
        }
        Ok(())
    }

    fn log(&self, r: &AccessRecord<'_>) -> Result<(), AuthError> {
        self.lock().log.push(AccessEntry {
            who: r.who.map(str::to_owned),
            what: r.what.to_owned(),
            when: now_unix(),
            count: r.count,
            status: r.status,
            detail: r.detail.map(str::to_owned),
        });
        Ok(())
    }

    fn access_log(&self) -> Result<Vec<AccessEntry>, AuthError> {
        Ok(self.lock().log.clone())
    }

    fn places(&self) -> Result<Vec<Place>, AuthError> {
        Ok(self.lock().places.iter().cloned().collect())
    }

    fn add_places(&self, places: &[Place]) -> Result<usize, AuthError> {
        let mut inner = self.lock();
        Ok(places
            .iter()
            .filter(|p| !p.community.is_empty() && inner.places.insert((*p).clone()))
            .count())
    }

    fn remove_places(&self, places: &[Place]) -> Result<usize, AuthError> {
        let mut inner = self.lock();
        Ok(places.iter().filter(|p| inner.places.remove(*p)).count())
    }
}

/// What one caller may see of a household layer.
#[derive(Debug, Clone)]
pub struct Visibility {
    access: Access,
    sector: Option<usize>,
    facility: Option<usize>,
    violence: Option<usize>,
    risk_level: Option<usize>,
}

impl Visibility {
    /// The visibility of `layer`'s features for `access` (field positions are looked up once).
    pub fn new(access: &Access, layer: &Layer) -> Self {
        Self {
            access: access.clone(),
            sector: layer.field_index(FIELD_CHA_SECTOR),
            facility: layer.field_index(FIELD_FACILITY),
            violence: layer.field_index(FIELD_VIOLENCE_RISK),
            risk_level: layer.field_index(FIELD_RISK_LEVEL),
        }
    }

    /// Whether the caller may see individual household records or points
    /// (admin, CHA and facility). Analysts get clusters and aggregates drawn
    /// from the households [`Self::may_see`] admits, never the records.
    pub fn sees_households(&self) -> bool {
        self.access.role.sees_households()
    }

    /// Whether the caller may see `feature`. A scoped role sees a household only
    /// when the household's sector (or facility) equals the scope exactly; a
    /// household without one is hidden from it.
    pub fn may_see(&self, feature: &Feature) -> bool {
        let field = match self.access.role {
            Role::Public => return false,
            Role::Analyst | Role::Admin => return true,
            Role::Cha => self.sector,
            Role::Facility => self.facility,
        };
        let value = field.and_then(|i| feature.values.get(i));
        match (value, self.access.scope.as_deref()) {
            (Some(Value::Text(v)), Some(scope)) => v.trim() == scope,
            _ => false,
        }
    }

    /// Names of the fields removed from what the caller sees.
    pub fn stripped_fields(&self) -> Vec<&'static str> {
        if self.access.violence {
            Vec::new()
        } else {
            vec![FIELD_VIOLENCE_RISK]
        }
    }

    /// Whether field position `index` is removed.
    pub fn strips(&self, index: usize) -> bool {
        !self.access.violence && self.violence == Some(index)
    }

    /// The values of `feature` as the caller sees them, in `layer`'s field
    /// order (stripped fields included, as Null): without the violence grant
    /// `violence_risk` is Null and `risk_level` is derived as if the violence
    /// risk were unknown, whatever level was stored (a level typed in the
    /// source may count the violence risk too).
    pub fn values(&self, layer: &Layer, feature: &Feature) -> Vec<Value> {
        let mut values = feature.values.clone();
        values.resize(layer.fields.len(), Value::Null);
        if !self.access.violence {
            if let Some(i) = self.violence {
                values[i] = Value::Null;
            }
            if let Some(i) = self.risk_level {
                let level = crate::household::derive_risk_level(
                    layer,
                    &values,
                    crate::household::Violence::Unknown,
                );
                values[i] = Value::Text(level.as_str().to_owned());
            }
        }
        values
    }

    /// The part of `layer` the caller may see: visible features only, stripped
    /// fields removed (from the schema and from every feature), `risk_level`
    /// as [`Self::values`] gives it. Features are numbered 1, 2, 3... in their
    /// stored order: store ids would show how many records other scopes hold.
    pub fn apply(&self, layer: &Layer) -> Layer {
        let keep: Vec<usize> = (0..layer.fields.len())
            .filter(|&i| !self.strips(i))
            .collect();
        let features = layer
            .features
            .iter()
            .filter(|f| self.may_see(f))
            .zip(1..)
            .map(|(f, fid)| {
                let values = self.values(layer, f);
                Feature {
                    fid,
                    geometry: f.geometry.clone(),
                    values: keep
                        .iter()
                        .map(|&i| values.get(i).cloned().unwrap_or(Value::Null))
                        .collect(),
                }
            })
            .collect();
        Layer {
            name: layer.name.clone(),
            kind: layer.kind,
            fields: keep.iter().map(|&i| layer.fields[i].clone()).collect(),
            features,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::LayerKind;
    use geo::{Geometry, Point};

    fn households() -> Layer {
        let mut layer = Layer::new("households", LayerKind::Households);
        let n = layer.fields.len();
        let (cs, fa, vr) = (
            layer.field_index(FIELD_CHA_SECTOR).unwrap(),
            layer.field_index(FIELD_FACILITY).unwrap(),
            layer.field_index(FIELD_VIOLENCE_RISK).unwrap(),
        );
        let rows = [
            ("S1", "0001", true),
            ("S1", "0002", false),
            ("S2", "0001", false),
        ];
        for (k, (sector, fac, vio)) in rows.iter().enumerate() {
            let mut values = vec![Value::Null; n];
            values[0] = Value::Text(format!("H{k}"));
            values[cs] = Value::Text((*sector).into());
            values[fa] = Value::Text((*fac).into());
            values[vr] = Value::Bool(*vio);
            layer.features.push(Feature {
                fid: k as i64 + 1,
                geometry: Geometry::Point(Point::new(-75.0, -12.0)),
                values,
            });
        }
        // A household without sector or facility.
        layer.features.push(Feature {
            fid: 4,
            geometry: Geometry::Point(Point::new(-75.0, -12.0)),
            values: vec![Value::Null; n],
        });
        layer
    }

    fn fids(access: &Access) -> Vec<i64> {
        let l = households();
        let v = Visibility::new(access, &l);
        l.features
            .iter()
            .filter(|f| v.may_see(f))
            .map(|f| f.fid)
            .collect()
    }

    #[test]
    fn auth_roles_see_their_households() {
        let a = |r, s: Option<&str>| Access::new(r, s.map(str::to_owned), false).unwrap();
        assert_eq!(fids(&Access::public()), Vec::<i64>::new());
        assert_eq!(fids(&a(Role::Analyst, None)), vec![1, 2, 3, 4]);
        assert_eq!(fids(&a(Role::Admin, None)), vec![1, 2, 3, 4]);
        assert_eq!(fids(&a(Role::Cha, Some("S1"))), vec![1, 2]);
        assert_eq!(fids(&a(Role::Cha, Some("S2"))), vec![3]);
        assert_eq!(fids(&a(Role::Cha, Some("S9"))), Vec::<i64>::new());
        assert_eq!(fids(&a(Role::Facility, Some("0001"))), vec![1, 3]);
        assert_eq!(fids(&a(Role::Facility, Some("0002"))), vec![2]);
    }

    #[test]
    fn auth_strips_violence_unless_granted() {
        let l = households();
        let plain = Access::new(Role::Analyst, None, false).unwrap();
        let v = Visibility::new(&plain, &l);
        assert_eq!(v.stripped_fields(), vec![FIELD_VIOLENCE_RISK]);
        let out = v.apply(&l);
        assert_eq!(out.fields.len(), l.fields.len() - 1);
        assert!(out.field_index(FIELD_VIOLENCE_RISK).is_none());
        assert!(
            out.features
                .iter()
                .all(|f| f.values.len() == out.fields.len())
        );
        assert_eq!(
            out.value(&out.features[0], "code"),
            &Value::Text("H0".into())
        );

        let granted = Access::new(Role::Cha, Some("S1".into()), true).unwrap();
        let v = Visibility::new(&granted, &l);
        assert!(v.stripped_fields().is_empty());
        let out = v.apply(&l);
        assert_eq!(out.features.len(), 2);
        assert_eq!(
            out.value(&out.features[0], FIELD_VIOLENCE_RISK),
            &Value::Bool(true)
        );
    }

    #[test]
    fn role_policy_of_answers_and_layers() {
        use Role::{Admin, Analyst, Cha, Facility, Public};
        assert_eq!(may_see_layer(Analyst, "households"), Some(false));
        assert_eq!(may_see_layer(Analyst, "clusters"), Some(true));
        assert_eq!(may_see_layer(Public, "clusters"), Some(false));
        assert_eq!(may_see_layer(Cha, "households"), Some(true));
        assert_eq!(may_see_layer(Admin, "communities"), None);
        assert!(!Analyst.may_see_cluster_members() && Facility.may_see_cluster_members());
        assert!(!Public.may_ask_clusters() && Analyst.may_ask_clusters());
        for role in [Public, Analyst] {
            assert!(
                !role.sees_households() && !role.may_write_households(),
                "{role}"
            );
        }
        for role in [Admin, Cha, Facility] {
            assert!(
                role.sees_households() && role.may_write_households(),
                "{role}"
            );
            assert_eq!(role.may_choose_household_layer(), role == Admin, "{role}");
        }
        for layer in PrivateLayer::ALL {
            assert_eq!(PrivateLayer::from_name(layer.name()), Some(layer));
        }
    }

    #[test]
    fn scope_keys_and_the_violence_grant() {
        let cha = Access::new(Role::Cha, Some("S1".into()), true).unwrap();
        assert_eq!(cha.scope_key(), "cha:S1+violence");
        assert_eq!(cha.for_answer(false).scope_key(), "cha:S1");
        assert_eq!(cha.for_answer(true).scope_key(), "cha:S1+violence");
        let an = Access::new(Role::Analyst, None, false).unwrap();
        let ad = Access::new(Role::Admin, None, false).unwrap();
        assert_eq!(an.scope_key(), ad.scope_key());
        assert_eq!(Access::public().scope_key(), "none");
        assert!(reads_violence("anaemia,Violence_Risk") && !reads_violence("anaemia"));
        assert!(!an.may_read_field(FIELD_VIOLENCE_RISK) && an.may_read_field("anaemia"));
        assert!(cha.may_read_field(FIELD_VIOLENCE_RISK));
    }

    #[test]
    fn auth_checks_scopes() {
        assert!(Access::new(Role::Cha, None, false).is_err());
        assert!(Access::new(Role::Facility, Some("  ".into()), false).is_err());
        assert!(Access::new(Role::Analyst, Some("S1".into()), false).is_err());
        assert!(Access::new(Role::Public, None, true).is_err());
        assert_eq!(
            Access::new(Role::Cha, Some(" S1 ".into()), true)
                .unwrap()
                .scope
                .as_deref(),
            Some("S1")
        );
        assert_eq!("CHA".parse::<Role>().unwrap(), Role::Cha);
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn auth_hash_and_compare() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        let s = new_secret();
        assert_eq!(s.len(), SECRET_PREFIX.len() + 64);
        assert_ne!(s, new_secret());
    }

    #[test]
    fn auth_memory_store_lifecycle() {
        let store: Box<dyn TokenStore> = Box::new(MemoryTokenStore::new());
        let access = Access::new(Role::Cha, Some("S1".into()), false).unwrap();
        let (token, secret) = store.create(&access, Some("Rosa")).unwrap();
        assert_eq!(store.verify(&secret).unwrap().unwrap().id, token.id);
        assert!(store.verify("chk_wrong").unwrap().is_none());
        assert!(store.verify("").unwrap().is_none());
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 1);
        // The secret is stored nowhere in what the store shows.
        assert!(!format!("{listed:?}").contains(&secret[4..]));
        store.revoke(&token.id).unwrap();
        assert!(store.verify(&secret).unwrap().is_none());
        assert!(store.list().unwrap()[0].revoked.is_some());
        assert!(matches!(store.revoke("nope"), Err(AuthError::NotFound(_))));
        assert!(
            store
                .create(
                    &Access {
                        role: Role::Cha,
                        scope: None,
                        violence: false
                    },
                    None
                )
                .is_err()
        );
        store
            .log_access(Some(&token.id), "/api/households", 3)
            .unwrap();
        let log = store.access_log().unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].who.as_deref(), log[0].count),
            (Some(token.id.as_str()), 3)
        );
    }
}
