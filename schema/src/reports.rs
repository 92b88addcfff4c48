//! Reports a dealer sends a customer: a document of titled sections (a table each, and
//! optionally a bar chart of one of its columns), made by the report worker from the
//! database and rendered as CSV here, as XLSX and PDF by the worker. Pure.

/// What a column holds; renderers format and align by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    /// Whole numbers (pages, counts).
    Integer,
    /// Money in millionths, shown with 2 decimals.
    Money,
    /// A decimal (minutes, percent), shown with 1 decimal.
    Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

impl Column {
    pub fn new(name: &str, kind: ColumnKind) -> Column {
        Column { name: name.to_owned(), kind }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Integer(i64),
    /// Millionths.
    Money(i64),
    Decimal(f64),
    Empty,
}

impl Cell {
    /// As text, the way every renderer shows it.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Integer(i) => i.to_string(),
            Cell::Money(m) => crate::billing::format_money(*m, 2),
            Cell::Decimal(d) => format!("{d:.1}"),
            Cell::Empty => String::new(),
        }
    }

    /// As a number, for charts (text and empty cells: none).
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Integer(i) => Some(*i as f64),
            Cell::Money(m) => Some(*m as f64 / 1_000_000.0),
            Cell::Decimal(d) => Some(*d),
            Cell::Text(_) | Cell::Empty => None,
        }
    }
}

impl From<Option<String>> for Cell {
    fn from(value: Option<String>) -> Cell {
        value.map_or(Cell::Empty, Cell::Text)
    }
}

/// A bar chart of one column against another (the labels).
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub label_column: usize,
    pub value_column: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub chart: Option<Chart>,
    /// A line under the title (what the figures include or leave out).
    pub note: Option<String>,
}

impl Section {
    /// The chart's bars: (label, value) of each row with a value, in row order.
    pub fn bars(&self) -> Vec<(String, f64)> {
        let Some(chart) = &self.chart else { return Vec::new() };
        self.rows
            .iter()
            .filter_map(|row| Some((row.get(chart.label_column)?.display(), row.get(chart.value_column)?.number()?)))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub title: String,
    /// The customer, site and period.
    pub subtitle: String,
    pub sections: Vec<Section>,
}

/// RFC 4180 CSV: each section as its title on a line of its own, its header, its rows, then a
/// blank line. Numbers are plain (a dot for decimals), money with 2 decimals.
pub fn to_csv(document: &Document) -> Vec<u8> {
    let mut out = String::new();
    let line = |out: &mut String, fields: &mut dyn Iterator<Item = String>| {
        let mut first = true;
        for field in fields {
            if !first {
                out.push(',');
            }
            first = false;
            if field.contains([',', '"', '\n', '\r'])
                || field.starts_with([' ', '=', '+', '-', '@']) && !is_number(&field)
            {
                // Quoted; a leading formula character is neutralised for spreadsheets.
                let safe = if field.starts_with(['=', '+', '-', '@']) { format!("'{field}") } else { field };
                out.push('"');
                out.push_str(&safe.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(&field);
            }
        }
        out.push_str("\r\n");
    };
    for (i, section) in document.sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        line(&mut out, &mut std::iter::once(section.title.clone()));
        line(&mut out, &mut section.columns.iter().map(|c| c.name.clone()));
        for row in &section.rows {
            line(&mut out, &mut row.iter().map(Cell::display));
        }
    }
    out.into_bytes()
}

fn is_number(text: &str) -> bool {
    text.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        Document {
            title: "Fleet report".into(),
            subtitle: "Acme".into(),
            sections: vec![
                Section {
                    title: "Pages".into(),
                    columns: vec![Column::new("Device", ColumnKind::Text), Column::new("Pages", ColumnKind::Integer)],
                    rows: vec![
                        vec![Cell::Text("HP, \"M404\"".into()), Cell::Integer(1200)],
                        vec![Cell::Text("=cmd()".into()), Cell::Integer(-3)],
                        vec![Cell::Empty, Cell::Text("n/a".into())],
                    ],
                    chart: Some(Chart { title: "Pages".into(), label_column: 0, value_column: 1 }),
                    note: None,
                },
                Section {
                    title: "Costs".into(),
                    columns: vec![Column::new("Month", ColumnKind::Text), Column::new("Billed", ColumnKind::Money)],
                    rows: vec![vec![Cell::Text("2026-10".into()), Cell::Money(12_345_678)]],
                    chart: None,
                    note: None,
                },
            ],
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let text = String::from_utf8(to_csv(&sample())).unwrap();
        assert_eq!(
            text,
            "Pages\r\nDevice,Pages\r\n\"HP, \"\"M404\"\"\",1200\r\n\"'=cmd()\",-3\r\n,n/a\r\n\r\nCosts\r\nMonth,Billed\r\n2026-10,12.35\r\n"
        );
    }

    #[test]
    fn a_chart_takes_the_rows_with_a_value() {
        let bars = sample().sections[0].bars();
        assert_eq!(bars, vec![("HP, \"M404\"".to_owned(), 1200.0), ("=cmd()".to_owned(), -3.0)]);
        assert!(sample().sections[1].bars().is_empty());
    }
}
