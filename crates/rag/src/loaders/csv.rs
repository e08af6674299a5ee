//! CSV: a header row, then each record rendered as `column: value; column: value` with its row number.

use super::{Body, Extracted, Section, too_many_chars};
use crate::upload::csv_delimiter;
use crate::{DocumentError, ProcessOptions, normalize};

pub(super) fn load(text: &str, options: &ProcessOptions) -> Result<Extracted, DocumentError> {
    let delimiter = csv_delimiter(text, 2, 1).unwrap_or(b',');
    let mut reader =
        ::csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text.as_bytes());
    let unreadable = |_| DocumentError::malformed("the CSV could not be parsed");
    let headers: Vec<String> = reader
        .headers()
        .map_err(unreadable)?
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let name = normalize::inline(name);
            if name.is_empty() { format!("column {}", index + 1) } else { name }
        })
        .collect();
    let mut rows = Vec::new();
    let mut number = 0_u32;
    let mut chars = 0_usize;
    let mut record = ::csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(unreadable)? {
        number = number.saturating_add(1);
        let rendered = render(&headers, &record);
        if rendered.is_empty() {
            continue;
        }
        chars = chars.saturating_add(rendered.chars().count() + 1);
        if chars > options.max_extracted_chars {
            return Err(too_many_chars(options.max_extracted_chars));
        }
        rows.push((number, rendered));
    }
    let sections = if rows.is_empty() {
        Vec::new()
    } else {
        vec![Section { heading_path: Vec::new(), page: None, label: None, body: Body::Rows(rows) }]
    };
    Ok(Extracted { sections, pages: None, rows: Some(number) })
}

/// `header: value` pairs joined with `; `; empty values are left out, fields past the header are `column N`.
fn render(headers: &[String], record: &::csv::StringRecord) -> String {
    let mut out = String::new();
    for (index, value) in record.iter().enumerate() {
        let value = normalize::inline(value);
        if value.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("; ");
        }
        if let Some(name) = headers.get(index) {
            out.push_str(name);
        } else {
            out.push_str("column ");
            out.push_str(&(index + 1).to_string());
        }
        out.push_str(": ");
        out.push_str(&value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_delimiters_and_row_numbers() {
        let text = "name,city,note\n\"Doe, Jane\",Paris,\"said \"\"hi\"\"\"\nBob,,\n\n,,\nAnn,Rome,\"two\nlines\"\n";
        let extracted = load(text, &ProcessOptions::default()).unwrap();
        assert_eq!(extracted.rows, Some(4));
        let Body::Rows(rows) = &extracted.sections[0].body else { panic!("rows expected") };
        assert_eq!(
            rows,
            &[
                (1, "name: Doe, Jane; city: Paris; note: said \"hi\"".to_owned()),
                (2, "name: Bob".to_owned()),
                (4, "name: Ann; city: Rome; note: two lines".to_owned()),
            ]
        );
    }

    #[test]
    fn semicolons_and_extra_fields() {
        let extracted = load("a;b\n1;2;3\n", &ProcessOptions::default()).unwrap();
        let Body::Rows(rows) = &extracted.sections[0].body else { panic!("rows expected") };
        assert_eq!(rows, &[(1, "a: 1; b: 2; column 3: 3".to_owned())]);
    }
}
