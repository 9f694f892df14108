//! The outcome of an import: an [`ImportReport`] of the rows read, imported
//! and rejected, with an [`Issue`] per row problem and file-level warnings.

use chaski_core::layer::LayerKind;
use serde::Serialize;
use std::path::PathBuf;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The row was not imported.
    Rejected,
    /// The row was imported after a correction.
    Repaired,
    /// The row was imported; a value was left empty or looks doubtful.
    Warning,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "row skipped",
            Self::Repaired => "repaired",
            Self::Warning => "warning",
        }
    }
}

/// A problem with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Row or feature number.
    pub row: usize,
    /// Source field, when one is at fault.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// What was done.
    pub action: Action,
}

/// The outcome of importing one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The file.
    pub file: PathBuf,
    /// Store layer name.
    pub layer: String,
    /// Layer kind.
    pub kind: Option<LayerKind>,
    /// "row" or "feature".
    pub row_label: &'static str,
    /// Records read (rows with content).
    pub read: usize,
    /// Features imported.
    pub imported: usize,
    /// Rows rejected.
    pub rejected: usize,
    /// Per-row problems, in row order.
    pub issues: Vec<Issue>,
    /// File-level remarks.
    pub notes: Vec<String>,
    /// Source CRS.
    pub source_crs: String,
    /// The row (or feature number) of each imported feature, in layer order.
    #[serde(skip)]
    pub feature_rows: Vec<usize>,
    /// Household rows with `consent = no`: the family withdraws its consent,
    /// and its stored records are deleted when the layer is written.
    #[serde(skip)]
    pub withdrawals: Vec<chaski_core::household::write::Withdrawal>,
    /// Number of withdrawals (what the JSON report shows of them).
    pub withdrawn: usize,
    /// Household layers: source columns outside the household schema that
    /// were not stored.
    pub dropped_columns: Vec<String>,
    /// File-level warnings: a core field empty on every row, a column that
    /// looks like a core field but was not recognised, villages without a
    /// population, rows appended with codes already stored.
    pub warnings: Vec<String>,
    /// What a join did (imports with a join key), every unmatched row included.
    pub join: Option<crate::join::JoinSummary>,
}

impl ImportReport {
    /// The report of household withdrawals given outside a file (a deletion by
    /// code from the command line or the API): no rows, only `withdrawals`.
    pub fn of_withdrawals(
        layer: &str,
        withdrawals: Vec<chaski_core::household::write::Withdrawal>,
    ) -> Self {
        Self {
            file: PathBuf::from("request"),
            layer: layer.to_owned(),
            kind: Some(LayerKind::Households),
            row_label: "row",
            read: 0,
            imported: 0,
            rejected: 0,
            issues: Vec::new(),
            notes: Vec::new(),
            source_crs: "EPSG:4326".to_owned(),
            feature_rows: Vec::new(),
            withdrawn: withdrawals.len(),
            withdrawals,
            dropped_columns: Vec::new(),
            warnings: Vec::new(),
            join: None,
        }
    }

    /// One line per issue: `file: row N: field: reason (action)`.
    pub fn issue_line(&self, issue: &Issue) -> String {
        format!("{}: {}", self.file.display(), self.issue_text(issue))
    }

    /// An issue without the file name: `row N: field: reason (action)`.
    pub fn issue_text(&self, issue: &Issue) -> String {
        let field = issue
            .field
            .as_deref()
            .filter(|f| !f.is_empty())
            .map(|f| format!("field '{f}': "))
            .unwrap_or_default();
        format!(
            "{} {}: {field}{} ({})",
            self.row_label,
            issue.row,
            issue.reason,
            issue.action.as_str()
        )
    }

    /// Issues with the given action.
    pub fn count(&self, action: Action) -> usize {
        self.issues.iter().filter(|i| i.action == action).count()
    }

    /// Row warnings and file-level warnings together.
    pub fn warning_count(&self) -> usize {
        self.count(Action::Warning) + self.warnings.len()
    }
}

/// `n` with thousands separated by commas, as the import messages write counts
/// (`136,587`).
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
