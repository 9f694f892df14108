//! Household predicates: the one vocabulary in which indicators name their
//! numerator and denominator (the indicator TOML file, `chaski indicators`,
//! `GET /api/indicators`).
//!
//! A predicate reads only the risk fields of the household schema
//! ([`chaski_core::household::RISK_FIELDS`]: `members`, `pregnant`, `under2`,
//! `under5`, `anaemia`, `malnutrition`, `danger_signs`, `safe_water`,
//! `sanitation`, `violence_risk`, `risk_level`), never a code, place or date,
//! so no predicate can single out a household.
//!
//! Grammar (keywords and values case-insensitive):
//!
//! ```text
//! expr  := and ("or" and)*
//! and   := unary ("and" unary)*
//! unary := "not" unary | "(" expr ")" | "all" | FIELD [OP VALUE]
//! OP    := "=" | "!=" | ">" | ">=" | "<" | "<="
//! VALUE := yes | no | unknown | INTEGER | alto | medio | bajo
//! ```
//!
//! A yes/no field alone means `= yes`; a count alone means `> 0`; `= unknown`
//! holds when the field is empty. Comparisons with an empty value are false
//! (an unknown count is neither above nor below anything). `risk_level`
//! compares with `alto`, `medio`, `bajo` (`>` and `<` in that order).
//!
//! Parameters: the text of the predicate. Returns a [`Predicate`] that
//! [`Predicate::eval`] applies to a [`Record`], or a [`PredicateError`]
//! naming the word at fault.
//!
//! ```
//! use chaski_analysis::monitoring::predicate::{Predicate, Record};
//! let p = Predicate::parse("under5 > 0 and malnutrition != unknown").unwrap();
//! let mut r = Record::default();
//! r.set("under5", Some(2));
//! assert!(!p.eval(&r)); // malnutrition unknown
//! r.set("malnutrition", Some(0));
//! assert!(p.eval(&r));
//! assert!(Predicate::parse("code = 'H1'").is_err()); // not a risk field
//! assert!(p.fields().iter().all(|f| *f != "violence_risk"));
//! ```

use chaski_core::domain::RiskLevel;
use chaski_core::household::RISK_FIELDS;
use std::fmt;

/// Errors of [`Predicate::parse`], each naming the word at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PredicateError {
    /// A field that is not a risk field of the household schema.
    #[error(
        "'{0}' is not a field a predicate may read (risk fields of the household schema: {fields})",
        fields = RISK_FIELDS.join(", ")
    )]
    UnknownField(String),
    /// A value that does not fit the field.
    #[error("'{field} {op} {value}': {reason}")]
    BadValue {
        /// The field.
        field: String,
        /// The operator.
        op: String,
        /// The value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The text does not follow the grammar.
    #[error("at word {position} ('{found}'): expected {expected}")]
    Syntax {
        /// 1-based position of the word.
        position: usize,
        /// The word found (empty at the end).
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The predicate is empty.
    #[error("empty predicate (write `all` for every household)")]
    Empty,
}

/// Kinds of risk field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Count,
    YesNo,
    Level,
}

fn kind_of(field: usize) -> Kind {
    match RISK_FIELDS[field] {
        "members" | "pregnant" | "under2" | "under5" => Kind::Count,
        "risk_level" => Kind::Level,
        _ => Kind::YesNo,
    }
}

/// The risk fields of one household record, as numbers: counts as they are,
/// yes/no as 1/0, `risk_level` as 0 (bajo), 1 (medio), 2 (alto); `None` when
/// empty. Positions follow [`RISK_FIELDS`].
///
/// Held as 32-bit numbers (a record of hundreds of thousands is read at
/// once): values beyond ±2,147,483,647 are clamped to it, far above any
/// count of a household.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Record([i32; RISK_FIELDS.len()]);

/// An empty value of a [`Record`].
const EMPTY: i32 = i32::MIN;

impl Default for Record {
    /// Every field empty.
    fn default() -> Self {
        Self([EMPTY; RISK_FIELDS.len()])
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                RISK_FIELDS
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| self.at(i).map(|v| (n, v))),
            )
            .finish()
    }
}

impl Record {
    /// Set field `name` (ignored when it is not a risk field).
    pub fn set(&mut self, name: &str, value: Option<i64>) {
        if let Some(i) = field_index(name) {
            self.put(i, value);
        }
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<i64> {
        field_index(name).and_then(|i| self.at(i))
    }

    /// The value of the field at position `i` of [`RISK_FIELDS`].
    ///
    /// # Panics
    /// When `i` is not a position of [`RISK_FIELDS`].
    pub fn at(&self, i: usize) -> Option<i64> {
        let v = self.0[i];
        (v != EMPTY).then_some(i64::from(v))
    }

    /// Set the field at position `i` of [`RISK_FIELDS`].
    ///
    /// # Panics
    /// When `i` is not a position of [`RISK_FIELDS`].
    pub fn put(&mut self, i: usize, value: Option<i64>) {
        self.0[i] = value.map_or(EMPTY, |v| {
            i32::try_from(v.clamp(i64::from(EMPTY) + 1, i64::from(i32::MAX))).unwrap_or(EMPTY + 1)
        });
    }
}

/// Position of a risk field in [`RISK_FIELDS`].
pub fn field_index(name: &str) -> Option<usize> {
    RISK_FIELDS.iter().position(|f| *f == name)
}

/// A risk level as a [`Record`] value.
pub fn level_value(level: RiskLevel) -> i64 {
    match level {
        RiskLevel::Bajo => 0,
        RiskLevel::Medio => 1,
        RiskLevel::Alto => 2,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    All,
    /// Field position, operator, value (None: unknown).
    Cmp(usize, Op, Option<i64>),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

impl Node {
    fn eval(&self, r: &Record) -> bool {
        match self {
            Self::All => true,
            Self::Cmp(f, op, v) => {
                let x = r.at(*f);
                match (op, v) {
                    (Op::Eq, None) => x.is_none(),
                    (Op::Ne, None) => x.is_some(),
                    (_, Some(v)) => x.is_some_and(|x| match op {
                        Op::Eq => x == *v,
                        Op::Ne => x != *v,
                        Op::Gt => x > *v,
                        Op::Ge => x >= *v,
                        Op::Lt => x < *v,
                        Op::Le => x <= *v,
                    }),
                    _ => false,
                }
            }
            Self::Not(n) => !n.eval(r),
            Self::And(v) => v.iter().all(|n| n.eval(r)),
            Self::Or(v) => v.iter().any(|n| n.eval(r)),
        }
    }

    fn fields(&self, out: &mut Vec<&'static str>) {
        match self {
            Self::All => {}
            Self::Cmp(f, ..) => {
                if !out.contains(&RISK_FIELDS[*f]) {
                    out.push(RISK_FIELDS[*f]);
                }
            }
            Self::Not(n) => n.fields(out),
            Self::And(v) | Self::Or(v) => v.iter().for_each(|n| n.fields(out)),
        }
    }
}

/// A parsed household predicate (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    text: String,
    root: Node,
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            flush(&mut cur, &mut out);
        } else if c == '(' || c == ')' {
            flush(&mut cur, &mut out);
            out.push(c.to_string());
        } else if matches!(c, '=' | '!' | '<' | '>') {
            flush(&mut cur, &mut out);
            if chars.get(i + 1) == Some(&'=') && c != '=' {
                out.push(format!("{c}="));
                i += 1;
            } else if c == '=' && chars.get(i + 1) == Some(&'=') {
                out.push("=".into());
                i += 1;
            } else {
                out.push(c.to_string());
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    flush(&mut cur, &mut out);
    out
}

struct Parser {
    toks: Vec<String>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<String> {
        self.toks.get(self.pos).map(|t| t.to_ascii_lowercase())
    }

    fn err(&self, expected: &'static str) -> PredicateError {
        PredicateError::Syntax {
            position: self.pos + 1,
            found: self.toks.get(self.pos).cloned().unwrap_or_default(),
            expected,
        }
    }

    fn expr(&mut self) -> Result<Node, PredicateError> {
        let mut v = vec![self.and()?];
        while self.peek().as_deref() == Some("or") {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Node::Or(v)
        })
    }

    fn and(&mut self) -> Result<Node, PredicateError> {
        let mut v = vec![self.unary()?];
        while self.peek().as_deref() == Some("and") {
            self.pos += 1;
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Node::And(v)
        })
    }

    fn unary(&mut self) -> Result<Node, PredicateError> {
        let Some(t) = self.peek() else {
            return Err(self.err("a field, `not`, `all` or `(`"));
        };
        match t.as_str() {
            "not" => {
                self.pos += 1;
                Ok(Node::Not(Box::new(self.unary()?)))
            }
            "(" => {
                self.pos += 1;
                let n = self.expr()?;
                if self.peek().as_deref() != Some(")") {
                    return Err(self.err("`)`"));
                }
                self.pos += 1;
                Ok(n)
            }
            "all" => {
                self.pos += 1;
                Ok(Node::All)
            }
            ")" | "and" | "or" | "=" | "!=" | ">" | ">=" | "<" | "<=" => {
                Err(self.err("a field, `not`, `all` or `(`"))
            }
            name => {
                let f = field_index(name).ok_or_else(|| PredicateError::UnknownField(t.clone()))?;
                self.pos += 1;
                let op = match self.peek().as_deref() {
                    Some("=") => Op::Eq,
                    Some("!=") => Op::Ne,
                    Some(">") => Op::Gt,
                    Some(">=") => Op::Ge,
                    Some("<") => Op::Lt,
                    Some("<=") => Op::Le,
                    _ => {
                        return match kind_of(f) {
                            Kind::YesNo => Ok(Node::Cmp(f, Op::Eq, Some(1))),
                            Kind::Count => Ok(Node::Cmp(f, Op::Gt, Some(0))),
                            Kind::Level => Err(self.err(
                                "an operator after risk_level (`risk_level = alto`, `risk_level >= medio`)",
                            )),
                        };
                    }
                };
                self.pos += 1;
                let Some(value) = self.peek() else {
                    return Err(self.err("a value"));
                };
                self.pos += 1;
                let bad = |reason| PredicateError::BadValue {
                    field: RISK_FIELDS[f].to_owned(),
                    op: op.as_str().to_owned(),
                    value: value.clone(),
                    reason,
                };
                let v = match value.as_str() {
                    "unknown" | "null" | "empty" => {
                        if !matches!(op, Op::Eq | Op::Ne) {
                            return Err(bad("only = and != compare with unknown"));
                        }
                        None
                    }
                    _ => Some(match kind_of(f) {
                        Kind::YesNo => {
                            if !matches!(op, Op::Eq | Op::Ne) {
                                return Err(bad("a yes/no field compares with = or != only"));
                            }
                            match value.as_str() {
                                "yes" | "si" | "sí" | "true" | "1" => 1,
                                "no" | "false" | "0" => 0,
                                _ => return Err(bad("expected yes, no or unknown")),
                            }
                        }
                        Kind::Count => value
                            .parse::<i64>()
                            .map_err(|_| bad("expected a whole number or unknown"))?,
                        Kind::Level => {
                            let l: RiskLevel = value
                                .parse()
                                .map_err(|_| bad("expected alto, medio, bajo or unknown"))?;
                            level_value(l)
                        }
                    }),
                };
                Ok(Node::Cmp(f, op, v))
            }
        }
    }
}

impl Predicate {
    /// Parse `text` (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, PredicateError> {
        let toks = tokens(text);
        if toks.is_empty() {
            return Err(PredicateError::Empty);
        }
        let mut p = Parser { toks, pos: 0 };
        let root = p.expr()?;
        if p.pos < p.toks.len() {
            return Err(p.err("`and`, `or` or the end"));
        }
        Ok(Self {
            text: text.trim().to_owned(),
            root,
        })
    }

    /// Whether `record` satisfies the predicate.
    pub fn eval(&self, record: &Record) -> bool {
        self.root.eval(record)
    }

    /// The fields the predicate reads, in order of appearance.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.root.fields(&mut out);
        out
    }

    /// Whether the predicate reads the restricted `violence_risk`.
    pub fn reads_violence(&self) -> bool {
        self.fields().contains(&"violence_risk")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn rec(pairs: &[(&str, Option<i64>)]) -> Record {
        let mut r = Record::default();
        for (k, v) in pairs {
            r.set(k, *v);
        }
        r
    }

    #[rstest]
    #[case("all", &[], true)]
    #[case("anaemia", &[("anaemia", Some(1))], true)]
    #[case("anaemia", &[("anaemia", None)], false)]
    #[case("anaemia = no", &[("anaemia", Some(0))], true)]
    #[case("anaemia = unknown", &[("anaemia", None)], true)]
    #[case("anaemia != unknown", &[("anaemia", None)], false)]
    #[case("under5", &[("under5", Some(0))], false)]
    #[case("under5>=2", &[("under5", Some(2))], true)]
    #[case("under5 < 1", &[("under5", None)], false)]
    #[case("not under5 < 1", &[("under5", None)], true)]
    #[case("risk_level >= medio", &[("risk_level", Some(1))], true)]
    #[case("risk_level = alto", &[("risk_level", Some(1))], false)]
    #[case("pregnant > 0 and (anaemia or danger_signs)", &[("pregnant", Some(1)), ("danger_signs", Some(1))], true)]
    #[case("safe_water = no or sanitation = no", &[("safe_water", Some(1)), ("sanitation", Some(1))], false)]
    fn evaluates(#[case] text: &str, #[case] pairs: &[(&str, Option<i64>)], #[case] want: bool) {
        let p = Predicate::parse(text).unwrap();
        assert_eq!(p.eval(&rec(pairs)), want, "{text}");
    }

    #[rstest]
    #[case("", "empty")]
    #[case("code = H1", "not a field")]
    #[case("community", "not a field")]
    #[case("anaemia > 1", "compares with = or !=")]
    #[case("under5 > x", "whole number")]
    #[case("risk_level", "operator after risk_level")]
    #[case("anaemia and", "at word 3")]
    #[case("(anaemia", "`)`")]
    #[case("anaemia anaemia", "`and`, `or` or the end")]
    fn rejects(#[case] text: &str, #[case] needle: &str) {
        let e = Predicate::parse(text).unwrap_err().to_string();
        assert!(e.contains(needle), "{text}: {e}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[a-z_0-9=<>!() ]{0,40}") {
            let _ = Predicate::parse(&s);
        }
    }

    #[test]
    fn violence_is_seen() {
        assert!(
            Predicate::parse("violence_risk or anaemia")
                .unwrap()
                .reads_violence()
        );
        assert!(!Predicate::parse("anaemia").unwrap().reads_violence());
    }
}
