//! A report as PDF 1.4, written directly: A4 pages, Helvetica (a standard font every reader
//! has, WinAnsi-encoded), each section a heading, its note, a horizontal bar chart when it has
//! one, and its table with the header repeated on every page it spans; page numbers in the
//! footer. Content streams are left uncompressed: reports are small and stay searchable by
//! any tool.

use std::fmt::Write as _;

use cartouche_schema::reports::{Cell, ColumnKind, Document, Section};

const WIDTH: f64 = 595.0;
const HEIGHT: f64 = 842.0;
const MARGIN: f64 = 40.0;
const BODY: f64 = 8.0;
const ROW: f64 = 11.0;
/// Bars shown in a chart at most (the largest).
const MAX_BARS: usize = 12;

/// Helvetica's average glyph width, as a share of the font size (for fitting text).
const AVERAGE_WIDTH: f64 = 0.52;

struct Pages {
    done: Vec<String>,
    current: String,
    y: f64,
}

impl Pages {
    fn new() -> Pages {
        Pages { done: Vec::new(), current: String::new(), y: HEIGHT - MARGIN }
    }

    fn new_page(&mut self) {
        self.done.push(std::mem::take(&mut self.current));
        self.y = HEIGHT - MARGIN;
    }

    /// Room for `height` more points, else a new page.
    fn need(&mut self, height: f64) -> bool {
        if self.y - height < MARGIN + 20.0 {
            self.new_page();
            return true;
        }
        false
    }

    fn text(&mut self, x: f64, y: f64, size: f64, bold: bool, text: &str) {
        let font = if bold { "F2" } else { "F1" };
        let _ = writeln!(self.current, "BT /{font} {size} Tf {x:.1} {y:.1} Td ({}) Tj ET", escape(text));
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, grey: f64) {
        let _ = writeln!(self.current, "{grey:.2} g {x:.1} {y:.1} {w:.1} {h:.1} re f 0 g");
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        let _ = writeln!(self.current, "0.75 G 0.5 w {x1:.1} {y1:.1} m {x2:.1} {y2:.1} l S 0 G");
    }
}

/// WinAnsi bytes of a text, escaped for a PDF string; characters WinAnsi lacks become '?'.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let byte: u8 = match c {
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            '→' => b'>',
            c if (c as u32) < 0x20 => b' ',
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        };
        match byte {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(byte as char);
            }
            0x20..=0x7E => out.push(byte as char),
            _ => {
                let _ = write!(out, "\\{byte:03o}");
            }
        }
    }
    out
}

/// Cuts a text to fit `width` points at `size`, with an ellipsis.
fn fit(text: &str, width: f64, size: f64) -> String {
    let max = ((width / (size * AVERAGE_WIDTH)).floor() as usize).max(1);
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Column widths in proportion to what they hold (header and up to 50 rows), within the page.
fn widths(section: &Section) -> Vec<f64> {
    let usable = WIDTH - 2.0 * MARGIN;
    let lengths: Vec<f64> = section
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let longest = section
                .rows
                .iter()
                .take(50)
                .map(|r| r.get(i).map_or(0, |cell| cell.display().chars().count()))
                .max()
                .unwrap_or(0);
            (longest.max(c.name.chars().count()).clamp(4, 40)) as f64
        })
        .collect();
    let total: f64 = lengths.iter().sum();
    lengths.iter().map(|l| usable * l / total).collect()
}

fn table(pages: &mut Pages, section: &Section) {
    let widths = widths(section);
    let header = |pages: &mut Pages| {
        pages.rect(MARGIN, pages.y - 3.0, WIDTH - 2.0 * MARGIN, ROW, 0.88);
        let mut x = MARGIN + 2.0;
        for (column, width) in section.columns.iter().zip(&widths) {
            let label = fit(&column.name, width - 4.0, BODY);
            pages.text(x, pages.y, BODY, true, &label);
            x += width;
        }
        pages.y -= ROW;
    };
    pages.need(ROW * 2.0);
    header(pages);
    if section.rows.is_empty() {
        pages.text(MARGIN + 2.0, pages.y, BODY, false, "Nothing in this period.");
        pages.y -= ROW;
    }
    for row in &section.rows {
        if pages.need(ROW) {
            header(pages);
        }
        let mut x = MARGIN + 2.0;
        for ((cell, column), width) in row.iter().zip(&section.columns).zip(&widths) {
            let text = fit(&cell.display(), width - 4.0, BODY);
            let right = column.kind != ColumnKind::Text && !matches!(cell, Cell::Text(_));
            let at = if right { x + width - 4.0 - text.chars().count() as f64 * BODY * AVERAGE_WIDTH } else { x };
            pages.text(at, pages.y, BODY, false, &text);
            x += width;
        }
        pages.line(MARGIN, pages.y - 3.0, WIDTH - MARGIN, pages.y - 3.0);
        pages.y -= ROW;
    }
}

fn chart(pages: &mut Pages, section: &Section) {
    let mut bars = section.bars();
    if bars.is_empty() {
        return;
    }
    let title = section.chart.as_ref().map(|c| c.title.clone()).unwrap_or_default();
    if bars.len() > MAX_BARS {
        bars.sort_by(|a, b| b.1.total_cmp(&a.1));
        bars.truncate(MAX_BARS);
    }
    let max = bars.iter().map(|(_, v)| *v).fold(0.0f64, f64::max);
    let (label_width, bar_height) = (150.0, 10.0);
    let span = WIDTH - 2.0 * MARGIN - label_width - 60.0;
    pages.need(ROW + bars.len() as f64 * (bar_height + 3.0) + 8.0);
    pages.text(MARGIN, pages.y, 9.0, true, &title);
    pages.y -= ROW + 2.0;
    for (label, value) in &bars {
        pages.text(MARGIN, pages.y, BODY, false, &fit(label, label_width - 6.0, BODY));
        let width = if max > 0.0 { (value.max(0.0) / max * span).max(0.5) } else { 0.5 };
        pages.rect(MARGIN + label_width, pages.y - 2.0, width, bar_height, 0.35);
        let shown = if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") };
        pages.text(MARGIN + label_width + width + 4.0, pages.y, BODY, false, &shown);
        pages.y -= bar_height + 3.0;
    }
    pages.y -= 8.0;
}

/// The report as a PDF file.
pub fn render(document: &Document) -> Vec<u8> {
    let mut pages = Pages::new();
    pages.text(MARGIN, pages.y - 6.0, 16.0, true, &document.title);
    pages.y -= 26.0;
    pages.text(MARGIN, pages.y, 10.0, false, &document.subtitle);
    pages.y -= 24.0;
    for section in &document.sections {
        pages.need(ROW * 4.0);
        pages.text(MARGIN, pages.y, 12.0, true, &section.title);
        pages.y -= 16.0;
        if let Some(note) = &section.note {
            pages.text(MARGIN, pages.y, BODY, false, &fit(note, WIDTH - 2.0 * MARGIN, BODY));
            pages.y -= ROW + 2.0;
        }
        chart(&mut pages, section);
        table(&mut pages, section);
        pages.y -= 14.0;
    }
    pages.done.push(std::mem::take(&mut pages.current));
    assemble(&pages.done)
}

/// Objects, cross-reference table and trailer around the pages' content streams.
fn assemble(contents: &[String]) -> Vec<u8> {
    let count = contents.len();
    // 1 catalog, 2 page tree, 3 and 4 fonts, then a page and its content per page.
    let page_id = |i: usize| 5 + 2 * i;
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {count} >>",
            (0..count).map(|i| format!("{} 0 R", page_id(i))).collect::<Vec<_>>().join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".into(),
    ];
    for (i, content) in contents.iter().enumerate() {
        let footer = format!(
            "BT /F1 7 Tf {:.1} {:.1} Td (Cartouche {} page {} / {count}) Tj ET\n",
            MARGIN,
            MARGIN - 16.0,
            escape("·"),
            i + 1
        );
        let stream = format!("{content}{footer}");
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            page_id(i) + 1
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{stream}endstream", stream.len()));
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(table, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1);
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_winansi_and_escaped() {
        assert_eq!(escape("a (b) \\ c"), "a \\(b\\) \\\\ c");
        assert_eq!(escape("12 €, café, 日本"), "12 \\200, caf\\351, ??");
        assert_eq!(fit("abcdefghijklmnopqrstuvwxyz", 20.0, 8.0), "abc…", "4 characters fit, the last an ellipsis");
        assert_eq!(fit("abc", 20.0, 8.0), "abc");
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let pdf = render(&Document { title: "T".into(), subtitle: "S".into(), sections: vec![] });
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle).unwrap();
        let tail = std::str::from_utf8(&pdf[find(b"startxref\n")..]).unwrap();
        let xref: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        assert!(pdf[xref..].starts_with(b"xref"));
        let table = std::str::from_utf8(&pdf[xref..]).unwrap();
        let entries: Vec<&str> = table.lines().skip(3).take_while(|l| l.ends_with(" n ")).collect();
        assert_eq!(entries.len(), 6, "catalog, pages, two fonts, one page and its content");
        for (i, line) in entries.iter().enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()), "object {}", i + 1);
        }
    }
}
