//! Plain text: one section of paragraphs (blank-line separated).

use super::{Extracted, Section};
use crate::normalize;

pub(super) fn load(text: &str) -> Extracted {
    let text = normalize::block(text);
    let sections = if text.is_empty() { Vec::new() } else { vec![Section::text(Vec::new(), text)] };
    Extracted { sections, ..Extracted::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loaders::Body;

    #[test]
    fn paragraphs_are_kept_and_spacing_normalised() {
        let extracted = load("\u{feff}First  paragraph\r\nstill first.\r\n\r\n\r\nSecond paragraph.\n");
        assert_eq!(extracted.sections.len(), 1);
        assert_eq!(extracted.sections[0].body, Body::Text("First paragraph\nstill first.\n\nSecond paragraph.".into()));
        assert!(load(" \n\t\n").sections.is_empty());
    }
}
