//! Query terms for the keyword arm: lower-cased words with surrounding punctuation trimmed (inner `-`,
//! `.`, `/` kept, so `XR-200` and `v2.1` stay whole), without stopwords and one-letter words, deduplicated,
//! at most [`MAX_TERMS`].

/// Terms kept from one query.
pub const MAX_TERMS: usize = 32;

/// Common function words of the languages the platform ships with; they match nearly every chunk.
const STOPWORDS: &[&str] = &[
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "get", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "is", "it", "its",
    "me", "my", "no", "not", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "to", "too", "us", "was", "we", "were", "what", "when", "where",
    "which", "who", "why", "will", "with", "would", "you", "your", "please", "tell", "know", "want", "need", "there",
    "el", "la", "los", "las", "de", "del", "que", "y", "en", "un", "una", "es", "por", "con", "para", "como", "je",
    "i", "u", "na", "se", "da", "li", "su", "za", "od", "do",
];

/// The keyword terms of `query`.
pub fn terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in query.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '?' | '!' | '(' | ')' | '"')) {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if word.chars().count() < 2 || STOPWORDS.contains(&word.as_str()) || terms.contains(&word) {
            continue;
        }
        terms.push(word);
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::terms;

    #[test]
    fn keeps_codes_whole_and_drops_function_words() {
        assert_eq!(terms("What is the price of the XR-200?"), ["price", "xr-200"]);
        assert_eq!(terms("Does v2.1 support SSO, or not?!"), ["v2.1", "support", "sso"]);
        assert_eq!(terms("refund refund REFUND"), ["refund"]);
        assert!(terms("is it?").is_empty());
        assert_eq!(terms(&"word ".repeat(100)).len(), 1);
        let many = (0..100).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(terms(&many).len(), super::MAX_TERMS);
    }
}
