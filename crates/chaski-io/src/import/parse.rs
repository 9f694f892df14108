//! Values written as text: whole numbers, yes/no answers and dates.

use chaski_core::schema::normalize_name;

/// True for a whole number as written (an optional minus, at most 15 digits, no
/// leading zero).
pub(super) fn looks_int(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty()
        && d.len() <= 15
        && d.bytes().all(|b| b.is_ascii_digit())
        && !(d.len() > 1 && d.starts_with('0'))
}

/// Parse a yes/no answer (Spanish or English): `Ok(None)` for unknown or
/// empty, `Err` when it is not an answer.
pub(super) fn parse_bool(s: &str) -> Result<Option<bool>, ()> {
    match normalize_name(s).as_str() {
        "si" | "s" | "yes" | "y" | "true" | "t" | "1" | "x" | "verdadero" => Ok(Some(true)),
        "no" | "n" | "false" | "f" | "0" | "falso" => Ok(Some(false)),
        "unknown" | "desconocido" | "ns" | "no_sabe" | "nosabe" | "dont_know" | "na" | "n_a"
        | "" => Ok(None),
        _ => Err(()),
    }
}

/// Parse a date: ISO `YYYY-MM-DD` (also the date part of an ISO date-time, as ODK
/// and KoBo write), `YYYY/MM/DD` (GDAL's date fields) or `DD/MM/YYYY`.
pub(crate) fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    // `YYYY/MM/DD` is how GDAL writes dates of GeoPackage and GeoJSON date fields.
    let (y, m, d) = if s.len() >= 10
        && ((s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-')
            || (s.as_bytes()[4] == b'/' && s.as_bytes()[7] == b'/'))
    {
        (s.get(0..4)?, s.get(5..7)?, s.get(8..10)?)
    } else {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() != 3 || parts[2].len() != 4 {
            return None;
        }
        (parts[2], parts[1], parts[0])
    };
    let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    ((1900..=2100).contains(&y) && (1..=days).contains(&d)).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_booleans() {
        assert_eq!(
            parse_date("2026-03-01T10:22:00.000-05:00").as_deref(),
            Some("2026-03-01")
        );
        assert_eq!(parse_date("01/03/2026").as_deref(), Some("2026-03-01"));
        assert_eq!(parse_date("2026/03/01").as_deref(), Some("2026-03-01"));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_bool("Sí"), Ok(Some(true)));
        assert_eq!(parse_bool("no sabe"), Ok(None));
        assert!(parse_bool("maybe").is_err());
    }
}
