//! The PDF and PNG read back by independent tools (poppler): pages and
//! size, every font embedded, the texts a reader looks for, the household
//! codes of a granted map and none on a public one; the QR code decoded from
//! the rendered page by rqrr. Fails rather than skips when poppler is missing
//! under CHASKI_REQUIRE_DATA=1.

use crate::common::{codes_in, households, map, run, spec};
use chaski_print::{Renderer, compose};

fn write_pdf(dir: &std::path::Path, name: &str, pages: &[chaski_print::PrintedPage]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, chaski_print::pdf(pages, "test").unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn pdf_read_back_by_poppler() {
    if !chaski_testing::require_poppler() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let list = households(30, 40);
    let pages = compose(&map(Some(list.clone())), &spec("a4", "portrait", "es")).unwrap();
    let pdf = write_pdf(dir.path(), "granted.pdf", &pages);

    let info = run("pdfinfo", &[&pdf]);
    assert!(
        info.contains(&format!("Pages:           {}", pages.len())),
        "{info}"
    );
    assert!(
        info.contains("Page size:       595.276 x 841.89 pts (A4)"),
        "{info}"
    );
    let fonts = run("pdffonts", &[&pdf]);
    let rows: Vec<&str> = fonts
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type... emb sub uni object ID: emb is the 5th column from the end.
        assert_eq!(cols[cols.len() - 5], "yes", "font not embedded: {row}");
        assert!(row.contains("DejaVuSans"), "only the bundled font: {row}");
    }
    let text = run("pdftotext", &["-enc", "UTF-8", &pdf, "-"]);
    for needle in [
        "Mapa de riesgo familiar",
        "Ñawpa Llaqta (SYN-CP1)",
        "Escala 1:",
        "1 cm = ",
        "CONFIDENCIAL — datos de salud",
        "Índice de hogares por cuadrícula",
    ] {
        assert!(text.contains(needle), "'{needle}' not in the PDF's text");
    }
    let mut want: Vec<String> = list.iter().map(|h| h.code.clone()).collect();
    want.sort();
    assert_eq!(codes_in(&text), want);

    // A public map: no household code, nothing confidential.
    let public = compose(&map(None), &spec("a3", "landscape", "en")).unwrap();
    let pdf = write_pdf(dir.path(), "public.pdf", &public);
    let info = run("pdfinfo", &[&pdf]);
    assert!(
        info.contains("Page size:       1190.55 x 841.89 pts (A3)"),
        "{info}"
    );
    let text = run("pdftotext", &["-enc", "UTF-8", &pdf, "-"]);
    assert!(codes_in(&text).is_empty());
    assert!(
        !text.contains("CONFIDENTIAL")
            && text.contains("Family risk map")
            && text.contains("45 households")
    );
}

#[test]
fn png_at_the_dpi_asked() {
    let pages = compose(
        &map(Some(households(10, 0))),
        &spec("a4", "landscape", "es"),
    )
    .unwrap();
    let png = chaski_print::png(&pages[..1], 72.0).unwrap().remove(0);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // IHDR: width and height, big-endian, at bytes 16..24; A4 landscape at 72 dpi is 842 x 596.
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((w, h), (842, 596));
    let err = chaski_print::png(&pages[..1], 5.0).unwrap_err().to_string();
    assert!(err.contains("dpi"), "{err}");
}

#[test]
fn only_the_bundled_font_is_loaded() {
    assert_eq!(Renderer::new().families(), vec!["DejaVu Sans".to_owned()]);
}

/// Grey levels of a PNG (8-bit RGBA, as the renderer writes it).
fn grey(png: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let n = frame.color_type.samples();
    let g = buf[..frame.buffer_size()]
        .chunks(n)
        .map(|p| ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2])) / 3) as u8)
        .collect();
    (frame.width as usize, frame.height as usize, g)
}

#[test]
fn the_qr_code_reads_back_as_the_viewer_link() {
    let pages = compose(&map(Some(households(20, 0))), &spec("a4", "portrait", "es")).unwrap();
    let link = pages[0].info.link.clone().unwrap();
    assert!(
        link.starts_with("https://chaski.example.org/#") && !link.contains("SYN"),
        "{link}"
    );
    // The whole page at 200 dpi, read by an independent decoder (rqrr).
    let png = chaski_print::png(&pages[..1], 200.0).unwrap().remove(0);
    let (w, h, g) = grey(&png);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| g[y * w + x]);
    let found: Vec<String> = img
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, content)| content))
        .collect();
    assert_eq!(found, vec![link]);
}
