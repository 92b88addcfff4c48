//! A report as an Excel workbook: a sheet per section (title, note, then the table with a bold
//! header, numbers as numbers, money with two decimals) and a native column chart beside the
//! sections that have one.

use cartouche_schema::reports::{Cell, ColumnKind, Document};
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, XlsxError};

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(title: &str, taken: &[String]) -> String {
    let clean: String = title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(28).collect();
    let mut name = clean.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{clean} {n}");
        n += 1;
    }
    name
}

pub fn render(document: &Document) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let title_format = Format::new().set_bold().set_font_size(14);
    let money = Format::new().set_num_format("#,##0.00");
    let decimal = Format::new().set_num_format("0.0");
    let mut taken = Vec::new();
    for section in &document.sections {
        let name = sheet_name(&section.title, &taken);
        taken.push(name.clone());
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name)?;
        sheet.write_with_format(0, 0, &section.title, &title_format)?;
        sheet.write(1, 0, &document.subtitle)?;
        if let Some(note) = &section.note {
            sheet.write(2, 0, note)?;
        }
        let header_row = 4u32;
        for (c, column) in section.columns.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            sheet.write_with_format(header_row, c, &column.name, &bold)?;
            sheet.set_column_width(c, if column.kind == ColumnKind::Text { 24 } else { 14 })?;
        }
        for (r, row) in section.rows.iter().enumerate() {
            let r = header_row + 1 + u32::try_from(r).unwrap_or(u32::MAX - header_row - 1);
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                match cell {
                    Cell::Text(t) => sheet.write(r, c, t)?,
                    Cell::Integer(i) => sheet.write(r, c, *i as f64)?,
                    Cell::Money(m) => sheet.write_with_format(r, c, *m as f64 / 1_000_000.0, &money)?,
                    Cell::Decimal(d) => sheet.write_with_format(r, c, *d, &decimal)?,
                    Cell::Empty => sheet,
                };
            }
        }
        if let Some(spec) = &section.chart
            && !section.rows.is_empty()
        {
            let (first, last) = (header_row + 1, header_row + u32::try_from(section.rows.len()).unwrap_or(1));
            let mut chart = Chart::new(ChartType::Column);
            chart.title().set_name(&spec.title);
            chart.legend().set_hidden();
            let label = u16::try_from(spec.label_column).unwrap_or(0);
            let value = u16::try_from(spec.value_column).unwrap_or(0);
            chart
                .add_series()
                .set_categories((name.as_str(), first, label, last, label))
                .set_values((name.as_str(), first, value, last, value))
                .set_name(section.columns.get(spec.value_column).map_or("", |c| c.name.as_str()));
            let column = u16::try_from(section.columns.len() + 1).unwrap_or(8);
            sheet.insert_chart(header_row, column, &chart)?;
        }
    }
    if document.sections.is_empty() {
        workbook.add_worksheet().write(0, 0, &document.title)?;
    }
    workbook.save_to_buffer()
}
