//! Content-encoding negotiation and compression of tiles.

use std::io::Write as _;

/// A content encoding chaski serves tiles in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// No compression.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// Brotli (RFC 7932).
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` value, None for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Brotli => Some("br"),
        }
    }

    /// ETag suffix distinguishing representations.
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Self::Identity => "",
            Self::Gzip => "-gz",
            Self::Brotli => "-br",
        }
    }

    /// Pick the best encoding an `Accept-Encoding` header allows: brotli, then
    /// gzip, then identity. Honours `q=0` exclusions and `*`.
    ///
    /// ```
    /// use chaski_server::encoding::Encoding;
    /// assert_eq!(Encoding::negotiate(Some("gzip, deflate, br")), Encoding::Brotli);
    /// assert_eq!(Encoding::negotiate(Some("gzip;q=0.5, br;q=0")), Encoding::Gzip);
    /// assert_eq!(Encoding::negotiate(None), Encoding::Identity);
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Identity;
        };
        let (mut br, mut gz, mut star) = (None, None, None);
        for part in accept.split(',') {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in it {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            match name.as_str() {
                "br" => br = Some(q),
                "gzip" | "x-gzip" => gz = Some(q),
                "*" => star = Some(q),
                _ => {}
            }
        }
        let ok = |explicit: Option<f32>| explicit.or(star).is_some_and(|q| q > 0.0);
        if ok(br) {
            Self::Brotli
        } else if ok(gz) {
            Self::Gzip
        } else {
            Self::Identity
        }
    }

    /// Compress `data` (identity returns it unchanged).
    pub fn compress(self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Identity => Ok(data.to_vec()),
            Self::Gzip => {
                let mut e = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 2 + 64),
                    flate2::Compression::new(6),
                );
                e.write_all(data)?;
                e.finish()
            }
            Self::Brotli => {
                let mut out = Vec::with_capacity(data.len() / 2 + 64);
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 6,
                    lgwin: 22,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn compressed_tiles_decompress_to_the_original() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let gz = Encoding::Gzip.compress(&data).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let br = Encoding::Brotli.compress(&data).unwrap();
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, data);
        assert!(br.len() < data.len() / 10);
    }
}
