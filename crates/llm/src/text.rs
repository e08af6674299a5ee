//! Word handling shared by the local provider and the local embedder: lower-cased, Unicode-aware words and
//! a cheap suffix-stripping stem, so "shipping", "shipped" and "ships" meet at "ship".

/// Words too common to say what a question is about.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does", "did", "for", "from", "have",
    "has", "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "that", "the",
    "their", "there", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with",
    "would", "you", "your", "about", "any", "they", "them", "than", "then", "these", "those", "into", "just", "also",
];

/// The words of `text`, lower-cased: runs of letters and digits (any script).
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether `word` (lower case) carries little meaning.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// A light stem: strips one common English suffix when enough of the word remains, then undoubles a
/// final consonant (`shipping` → `shipp` → `ship`). Other scripts and short words pass unchanged.
pub(crate) fn stem(word: &str) -> String {
    const SUFFIXES: &[&str] = &[
        "ational", "ization", "fulness", "ousness", "iveness", "ations", "ation", "ments", "ment", "ness", "ings",
        "ing", "ies", "ied", "ers", "er", "edly", "ed", "ly", "es", "s", "e",
    ];
    if !word.is_ascii() || word.len() <= 3 {
        return word.to_owned();
    }
    let stripped = SUFFIXES.iter().find_map(|suffix| {
        let base = word.strip_suffix(suffix)?;
        (base.len() >= 3 && !(*suffix == "s" && base.ends_with('s'))).then_some(base)
    });
    let Some(base) = stripped else { return word.to_owned() };
    let bytes = base.as_bytes();
    let n = bytes.len();
    if n >= 4 && bytes[n - 1] == bytes[n - 2] && !b"aeioulsz".contains(&bytes[n - 1]) {
        return base[..n - 1].to_owned();
    }
    if let Some(stripped) = word.strip_suffix("ies").or_else(|| word.strip_suffix("ied")) {
        return format!("{stripped}y");
    }
    base.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_cased_and_unicode_aware() {
        assert_eq!(words("Ça coûte 20€? Größe: XL!"), ["ça", "coûte", "20", "größe", "xl"]);
    }

    #[test]
    fn stems_meet_across_inflections() {
        for (a, b) in [("shipping", "ships"), ("shipped", "ship"), ("includes", "include"), ("refunds", "refund")] {
            assert_eq!(stem(a), stem(b), "{a} vs {b}");
        }
        assert_eq!(stem("policies"), "policy");
        assert_eq!(stem("class"), "class");
        assert_eq!(stem("was"), "was");
    }
}
