//! Follow-up questions into standalone queries, the heuristic way (used when the tenant has no generative
//! provider; the orchestrator asks the model otherwise). "How much is it?" after "Do you sell the XR-200
//! router?" searches for both: a follow-up that leans on earlier turns — a pronoun, "what about", a
//! fragment of a few words — is prefixed with the previous user message.

/// Words that point back at something said earlier.
const BACK_REFERENCES: &[&str] = &[
    "it", "its", "it's", "that", "this", "those", "these", "they", "them", "their", "there", "one", "ones", "he",
    "she", "him", "her", "same", "else", "also", "too",
];
/// Openings of a follow-up.
const FOLLOW_UP_OPENINGS: &[&str] = &["and ", "what about", "how about", "also ", "but ", "ok and", "then "];
/// A message of at most this many words is treated as a fragment.
const FRAGMENT_WORDS: usize = 3;

/// The query to search for `message`, given the user's earlier messages (oldest first).
pub fn standalone_query(message: &str, earlier_user_messages: &[String]) -> String {
    let Some(previous) = earlier_user_messages.iter().rev().find(|m| !m.trim().is_empty()) else {
        return message.trim().to_owned();
    };
    let lower = message.trim().to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).collect();
    let leans_back = words.len() <= FRAGMENT_WORDS
        || words.iter().any(|w| BACK_REFERENCES.contains(w))
        || FOLLOW_UP_OPENINGS.iter().any(|opening| lower.starts_with(opening));
    if leans_back { format!("{} {}", previous.trim(), message.trim()) } else { message.trim().to_owned() }
}

#[cfg(test)]
mod tests {
    use super::standalone_query;

    #[test]
    fn follow_ups_carry_the_previous_question() {
        let earlier = vec!["Do you sell the XR-200 router?".to_owned()];
        assert_eq!(standalone_query("How much is it?", &earlier), "Do you sell the XR-200 router? How much is it?");
        assert_eq!(
            standalone_query("what about shipping", &earlier),
            "Do you sell the XR-200 router? what about shipping"
        );
        assert_eq!(standalone_query("in red?", &earlier), "Do you sell the XR-200 router? in red?");
    }

    #[test]
    fn standalone_questions_and_first_messages_are_kept() {
        let earlier = vec!["Do you sell the XR-200 router?".to_owned()];
        assert_eq!(
            standalone_query("What are your opening hours on Sunday?", &earlier),
            "What are your opening hours on Sunday?"
        );
        assert_eq!(standalone_query("How much is it?", &[]), "How much is it?");
    }
}
