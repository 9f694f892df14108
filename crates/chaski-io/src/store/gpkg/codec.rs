//! The geometry codec: GeoPackage binary header + WKB.

use super::srs::SRS_ID;
use geo::{
    BoundingRect, Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint,
    MultiPolygon, Point, Polygon,
};

/// Deepest geometry-collection nesting accepted when decoding.
const MAX_DEPTH: usize = 32;

/// Errors of the GeoPackage geometry codec (GeoPackage binary header + WKB).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeometryBlobError {
    /// The blob does not start with the `GP` magic.
    #[error("not a GeoPackage geometry (bad magic)")]
    BadMagic,
    /// Unknown GeoPackage binary version.
    #[error("unsupported GeoPackage geometry version {0}")]
    Version(u8),
    /// Invalid envelope contents indicator.
    #[error("invalid envelope indicator {0}")]
    Envelope(u8),
    /// Extended (non-standard) geometry types are not supported.
    #[error("extended GeoPackage geometry types are not supported")]
    Extended,
    /// The blob ends before the geometry does.
    #[error("geometry blob truncated at byte {0}")]
    Truncated(usize),
    /// A WKB byte-order byte is neither 0 nor 1.
    #[error("invalid WKB byte order {byte} at byte {offset}")]
    ByteOrder {
        /// The byte found.
        byte: u8,
        /// Where.
        offset: usize,
    },
    /// Unknown WKB geometry type code.
    #[error("unsupported WKB geometry type {0}")]
    Type(u32),
    /// A member of a multi-geometry has the wrong type.
    #[error("a {0} holds a member of another type")]
    Member(&'static str),
    /// Geometry collections nested too deep.
    #[error("geometry collections nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Bytes left after the geometry.
    #[error("{0} unexpected bytes after the geometry")]
    Trailing(usize),
    /// A coordinate is NaN or infinite (cannot be indexed).
    #[error("geometry has a non-finite coordinate")]
    NonFinite,
}

struct BlobHeader {
    empty: bool,
    /// Envelope as stored: min x, max x, min y, max y.
    envelope: Option<[f64; 4]>,
    wkb_offset: usize,
}

fn parse_header(b: &[u8]) -> Result<BlobHeader, GeometryBlobError> {
    if b.len() < 8 {
        return Err(if b.len() >= 2 && &b[..2] != b"GP" {
            GeometryBlobError::BadMagic
        } else {
            GeometryBlobError::Truncated(b.len())
        });
    }
    if &b[..2] != b"GP" {
        return Err(GeometryBlobError::BadMagic);
    }
    if b[2] != 0 {
        return Err(GeometryBlobError::Version(b[2]));
    }
    let flags = b[3];
    if flags & 0x20 != 0 {
        return Err(GeometryBlobError::Extended);
    }
    let le = flags & 1 == 1;
    let indicator = (flags >> 1) & 7;
    let env_len = match indicator {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        x => return Err(GeometryBlobError::Envelope(x)),
    };
    if b.len() < 8 + env_len {
        return Err(GeometryBlobError::Truncated(b.len()));
    }
    let envelope = (indicator > 0).then(|| {
        let mut e = [0.0; 4];
        for (i, v) in e.iter_mut().enumerate() {
            let at = 8 + i * 8;
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&b[at..at + 8]);
            *v = if le {
                f64::from_le_bytes(raw)
            } else {
                f64::from_be_bytes(raw)
            };
        }
        e
    });
    Ok(BlobHeader {
        empty: flags & 0x10 != 0,
        envelope,
        wkb_offset: 8 + env_len,
    })
}

/// Bounds (min x, min y, max x, max y) of a GeoPackage geometry blob, from its
/// envelope when it has one, else from its WKB. None for an empty geometry.
pub fn blob_bounds(blob: &[u8]) -> Result<Option<[f64; 4]>, GeometryBlobError> {
    let h = parse_header(blob)?;
    if h.empty {
        return Ok(None);
    }
    if let Some([minx, maxx, miny, maxy]) = h.envelope {
        return Ok(Some([minx, miny, maxx, maxy]));
    }
    let g = decode_wkb(blob, h.wkb_offset)?;
    Ok(g.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]))
}

/// Decode a GeoPackage geometry blob (header + WKB, either byte order; Z and
/// M ordinates are dropped). Malformed blobs give an error, never a panic.
pub fn decode_gpkg_geometry(blob: &[u8]) -> Result<Geometry<f64>, GeometryBlobError> {
    let h = parse_header(blob)?;
    decode_wkb(blob, h.wkb_offset)
}

fn decode_wkb(blob: &[u8], offset: usize) -> Result<Geometry<f64>, GeometryBlobError> {
    let mut r = WkbReader {
        buf: blob,
        pos: offset,
        le: true,
    };
    let g = r.geometry(0)?;
    if r.pos == blob.len() {
        Ok(g)
    } else {
        Err(GeometryBlobError::Trailing(blob.len() - r.pos))
    }
}

struct WkbReader<'a> {
    buf: &'a [u8],
    pos: usize,
    le: bool,
}

impl WkbReader<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GeometryBlobError> {
        let end = self
            .pos
            .checked_add(N)
            .ok_or(GeometryBlobError::Truncated(self.pos))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(GeometryBlobError::Truncated(self.buf.len()))?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, GeometryBlobError> {
        let b = self.bytes::<4>()?;
        Ok(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self) -> Result<f64, GeometryBlobError> {
        let b = self.bytes::<8>()?;
        Ok(if self.le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// A count of items each at least `min_size` bytes long.
    fn count(&mut self, min_size: usize) -> Result<usize, GeometryBlobError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.remaining() {
            return Err(GeometryBlobError::Truncated(self.buf.len()));
        }
        Ok(n)
    }

    fn coord(&mut self, dims: usize) -> Result<Coord<f64>, GeometryBlobError> {
        let x = self.f64()?;
        let y = self.f64()?;
        for _ in 2..dims {
            self.f64()?;
        }
        Ok(Coord { x, y })
    }

    fn line(&mut self, dims: usize) -> Result<LineString<f64>, GeometryBlobError> {
        let n = self.count(8 * dims)?;
        let mut coords = Vec::with_capacity(n);
        for _ in 0..n {
            coords.push(self.coord(dims)?);
        }
        Ok(LineString::new(coords))
    }

    fn polygon(&mut self, dims: usize) -> Result<Polygon<f64>, GeometryBlobError> {
        let n = self.count(4)?;
        let mut rings = Vec::with_capacity(n);
        for _ in 0..n {
            rings.push(self.line(dims)?);
        }
        let mut rings = rings.into_iter();
        let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
        Ok(Polygon::new(exterior, rings.collect()))
    }

    /// Byte order and type of a geometry: (base type 1..=7, ordinates per coordinate).
    fn header(&mut self) -> Result<(u32, usize), GeometryBlobError> {
        let offset = self.pos;
        let [order] = self.bytes::<1>()?;
        self.le = match order {
            0 => false,
            1 => true,
            byte => return Err(GeometryBlobError::ByteOrder { byte, offset }),
        };
        let raw = self.u32()?;
        // EWKB flags (PostGIS) and ISO dimension codes (1000s).
        let (ez, em, srid) = (
            raw & 0x8000_0000 != 0,
            raw & 0x4000_0000 != 0,
            raw & 0x2000_0000 != 0,
        );
        let code = raw & 0x1FFF_FFFF;
        let (base, iso) = (code % 1000, code / 1000);
        let (iz, im) = match iso {
            0 => (false, false),
            1 => (true, false),
            2 => (false, true),
            3 => (true, true),
            _ => return Err(GeometryBlobError::Type(raw)),
        };
        if !(1..=7).contains(&base) {
            return Err(GeometryBlobError::Type(raw));
        }
        if srid {
            self.u32()?;
        }
        Ok((base, 2 + usize::from(ez || iz) + usize::from(em || im)))
    }

    fn geometry(&mut self, depth: usize) -> Result<Geometry<f64>, GeometryBlobError> {
        if depth > MAX_DEPTH {
            return Err(GeometryBlobError::TooDeep);
        }
        let (base, dims) = self.header()?;
        Ok(match base {
            1 => Geometry::Point(Point(self.coord(dims)?)),
            2 => Geometry::LineString(self.line(dims)?),
            3 => Geometry::Polygon(self.polygon(dims)?),
            4 => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.geometry(depth + 1)? {
                        Geometry::Point(p) => v.push(p),
                        _ => return Err(GeometryBlobError::Member("MultiPoint")),
                    }
                }
                Geometry::MultiPoint(MultiPoint::new(v))
            }
            5 => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.geometry(depth + 1)? {
                        Geometry::LineString(l) => v.push(l),
                        _ => return Err(GeometryBlobError::Member("MultiLineString")),
                    }
                }
                Geometry::MultiLineString(MultiLineString::new(v))
            }
            6 => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.geometry(depth + 1)? {
                        Geometry::Polygon(p) => v.push(p),
                        _ => return Err(GeometryBlobError::Member("MultiPolygon")),
                    }
                }
                Geometry::MultiPolygon(MultiPolygon::new(v))
            }
            _ => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.geometry(depth + 1)?);
                }
                Geometry::GeometryCollection(GeometryCollection::new_from(v))
            }
        })
    }
}

/// Encode `g` as a GeoPackage geometry blob (little-endian, SRS 4326) into
/// `out` (cleared first). Points carry no envelope (as GDAL writes them),
/// other geometries the `[min x, max x, min y, max y]` envelope; empty
/// geometries set the empty flag. Returns the bounds (min x, min y, max x,
/// max y), None when empty. `Line`, `Rect` and `Triangle` are written as
/// `LineString` and `Polygon`.
pub fn encode_gpkg_geometry(
    g: &Geometry<f64>,
    out: &mut Vec<u8>,
) -> Result<Option<[f64; 4]>, GeometryBlobError> {
    out.clear();
    let bounds = g
        .bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    let is_point = matches!(g, Geometry::Point(_));
    let flags: u8 = 1 | match (bounds, is_point) {
        (None, _) => 0x10,
        (Some(_), true) => 0,
        (Some(_), false) => 0b10,
    };
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(flags);
    out.extend_from_slice(&SRS_ID.to_le_bytes());
    if let (Some([minx, miny, maxx, maxy]), false) = (bounds, is_point) {
        for v in [minx, maxx, miny, maxy] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut w = WkbWriter { out, finite: true };
    w.geometry(g);
    if w.finite {
        Ok(bounds)
    } else {
        Err(GeometryBlobError::NonFinite)
    }
}

struct WkbWriter<'a> {
    out: &'a mut Vec<u8>,
    finite: bool,
}

impl WkbWriter<'_> {
    fn header(&mut self, ty: u32) {
        self.out.push(1);
        self.out.extend_from_slice(&ty.to_le_bytes());
    }

    fn u32(&mut self, n: usize) {
        self.out.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn coord(&mut self, c: Coord<f64>) {
        self.finite &= c.x.is_finite() && c.y.is_finite();
        self.out.extend_from_slice(&c.x.to_le_bytes());
        self.out.extend_from_slice(&c.y.to_le_bytes());
    }

    fn line(&mut self, l: &LineString<f64>) {
        self.u32(l.0.len());
        for c in &l.0 {
            self.coord(*c);
        }
    }

    fn polygon(&mut self, p: &Polygon<f64>) {
        let has_exterior = !p.exterior().0.is_empty() || !p.interiors().is_empty();
        self.u32(usize::from(has_exterior) + p.interiors().len());
        if has_exterior {
            self.line(p.exterior());
        }
        for r in p.interiors() {
            self.line(r);
        }
    }

    fn geometry(&mut self, g: &Geometry<f64>) {
        match g {
            Geometry::Point(p) => {
                self.header(1);
                self.coord(p.0);
            }
            Geometry::Line(l) => {
                self.header(2);
                self.u32(2);
                self.coord(l.start);
                self.coord(l.end);
            }
            Geometry::LineString(l) => {
                self.header(2);
                self.line(l);
            }
            Geometry::Polygon(p) => {
                self.header(3);
                self.polygon(p);
            }
            Geometry::Rect(r) => {
                self.header(3);
                self.polygon(&r.to_polygon());
            }
            Geometry::Triangle(t) => {
                self.header(3);
                self.polygon(&t.to_polygon());
            }
            Geometry::MultiPoint(mp) => {
                self.header(4);
                self.u32(mp.0.len());
                for p in &mp.0 {
                    self.header(1);
                    self.coord(p.0);
                }
            }
            Geometry::MultiLineString(ml) => {
                self.header(5);
                self.u32(ml.0.len());
                for l in &ml.0 {
                    self.header(2);
                    self.line(l);
                }
            }
            Geometry::MultiPolygon(mp) => {
                self.header(6);
                self.u32(mp.0.len());
                for p in &mp.0 {
                    self.header(3);
                    self.polygon(p);
                }
            }
            Geometry::GeometryCollection(gc) => {
                self.header(7);
                self.u32(gc.0.len());
                for g in &gc.0 {
                    self.geometry(g);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact, representable coordinates
mod tests {
    use super::*;
    use crate::store::gpkg::test_support::*;
    use geo::{BoundingRect, line_string, point};

    #[test]
    fn point_blob_matches_hand_encoding() {
        let mut buf = Vec::new();
        let b =
            encode_gpkg_geometry(&Geometry::Point(point! { x: 1.0, y: 2.0 }), &mut buf).unwrap();
        assert_eq!(b, Some([1.0, 2.0, 1.0, 2.0]));
        let mut expected = vec![b'G', b'P', 0, 0x01, 0xE6, 0x10, 0, 0, 1, 1, 0, 0, 0];
        expected.extend_from_slice(&1.0f64.to_le_bytes());
        expected.extend_from_slice(&2.0f64.to_le_bytes());
        assert_eq!(buf, expected);

        // A line string carries the envelope [minx, maxx, miny, maxy].
        let l = Geometry::LineString(line_string![(x: 3.0, y: -1.0), (x: 1.0, y: 5.0)]);
        encode_gpkg_geometry(&l, &mut buf).unwrap();
        assert_eq!(buf[3], 0x03);
        let env: Vec<f64> = buf[8..40]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(env, vec![1.0, 3.0, -1.0, 5.0]);
        assert_eq!(blob_bounds(&buf).unwrap(), Some([1.0, -1.0, 3.0, 5.0]));
    }

    #[test]
    fn big_endian_and_z_wkb_decode() {
        // GP header without envelope, then big-endian ISO POINT Z (1001) (1 2 3).
        let mut blob = vec![b'G', b'P', 0, 0x00, 0, 0, 0x10, 0xE6, 0];
        blob.extend_from_slice(&1001u32.to_be_bytes());
        for v in [1.0f64, 2.0, 3.0] {
            blob.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(
            decode_gpkg_geometry(&blob).unwrap(),
            Geometry::Point(point! { x: 1.0, y: 2.0 })
        );
        assert_eq!(blob_bounds(&blob).unwrap(), Some([1.0, 2.0, 1.0, 2.0]));
    }

    #[test]
    fn codec_round_trips_every_geometry_type() {
        let mut buf = Vec::new();
        for g in all_geometries() {
            let b = encode_gpkg_geometry(&g, &mut buf).unwrap();
            assert_eq!(decode_gpkg_geometry(&buf).unwrap(), g);
            let expected = g
                .bounding_rect()
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
            assert_eq!(b, expected);
            assert_eq!(blob_bounds(&buf).unwrap(), expected);
        }
        let nan = Geometry::Point(point! { x: f64::NAN, y: 1.0 });
        assert_eq!(
            encode_gpkg_geometry(&nan, &mut buf),
            Err(GeometryBlobError::NonFinite)
        );
    }

    #[test]
    fn malformed_blobs_are_errors_not_panics() {
        let mut buf = Vec::new();
        for g in all_geometries() {
            encode_gpkg_geometry(&g, &mut buf).unwrap();
            for cut in 0..buf.len() {
                assert!(
                    decode_gpkg_geometry(&buf[..cut]).is_err(),
                    "cut {cut} of {g:?}"
                );
            }
            let mut long = buf.clone();
            long.push(0);
            assert_eq!(
                decode_gpkg_geometry(&long),
                Err(GeometryBlobError::Trailing(1))
            );
        }
        assert_eq!(
            decode_gpkg_geometry(b"XXXXXXXXXXXX"),
            Err(GeometryBlobError::BadMagic)
        );
        // A line string claiming 2^32-1 points in a tiny blob.
        let mut huge = vec![b'G', b'P', 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_gpkg_geometry(&huge),
            Err(GeometryBlobError::Truncated(_))
        ));
        // Unknown type, bad byte order.
        let bad_type = [b'G', b'P', 0, 1, 0, 0, 0, 0, 1, 99, 0, 0, 0];
        assert_eq!(
            decode_gpkg_geometry(&bad_type),
            Err(GeometryBlobError::Type(99))
        );
        let bad_order = [b'G', b'P', 0, 1, 0, 0, 0, 0, 7, 1, 0, 0, 0];
        assert!(matches!(
            decode_gpkg_geometry(&bad_order),
            Err(GeometryBlobError::ByteOrder { byte: 7, offset: 8 })
        ));
        // Deeply nested collections.
        let mut deep = vec![b'G', b'P', 0, 1, 0, 0, 0, 0];
        for _ in 0..100 {
            deep.extend_from_slice(&[1, 7, 0, 0, 0, 1, 0, 0, 0]);
        }
        assert_eq!(decode_gpkg_geometry(&deep), Err(GeometryBlobError::TooDeep));
        // Pseudo-random garbage after a valid header.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let mut blob = vec![b'G', b'P', 0, 1, 0, 0, 0, 0];
            for _ in 0..(state % 64) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                blob.push((state % 8) as u8);
            }
            let _ = decode_gpkg_geometry(&blob);
            let _ = blob_bounds(&blob);
        }
    }
}
