//! The errors of printing: each names the option, page or link at fault.
//!
//! ```
//! use chaski_print::PaperSize;
//! let err = "a5".parse::<PaperSize>().unwrap_err();
//! assert_eq!(err.to_string(), "size: 'a5' is not a4 or a3");
//! ```

/// A map could not be laid out or rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrintError {
    /// A page option is not one of its words or is out of range.
    #[error("{option}: '{value}' is not {expected}")]
    Option {
        /// The option (`size`, `orientation`, `lang`, `format`, `dpi`).
        option: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The map has nothing to centre on (no community, household or facility
    /// with a location).
    #[error("the map of {area} has no located community, household or facility to show")]
    Empty {
        /// The area, in words.
        area: String,
    },
    /// The QR code could not be made (the link is too long).
    #[error("QR code of '{link}': {reason}")]
    Qr {
        /// The link encoded.
        link: String,
        /// Why.
        reason: String,
    },
    /// The SVG of a page could not be read back (a bug in the layout).
    #[error("page {page}: the SVG could not be parsed: {reason}")]
    Svg {
        /// Page number, from 1.
        page: usize,
        /// usvg's message.
        reason: String,
    },
    /// The PDF could not be written.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    /// The PNG could not be written.
    #[error("page {page}: the PNG could not be written: {reason}")]
    Png {
        /// Page number, from 1.
        page: usize,
        /// Why.
        reason: String,
    },
    /// The relief image could not be encoded.
    #[error("the relief image could not be encoded: {0}")]
    Relief(String),
}

/// Result of printing.
pub type Result<T, E = PrintError> = std::result::Result<T, E>;
