//! The built-in local provider: works offline and needs no key, so a new installation answers at once. It
//! is deliberately modest and honest: it answers extractively from the retrieved passages (the one sharing
//! the most meaningful words with the question, plus a second when it covers words the first does not),
//! citing exactly the passages it used; says plainly when none of them is relevant; handles greetings and
//! thanks; and otherwise says it cannot look the question up. It never invents facts, and asks for a
//! hand-off itself when the user says they want a person. Deterministic: same request, same answer.

use std::collections::HashSet;

use crate::text::{is_stop_word, stem, words};
use crate::{Completion, CompletionFuture, CompletionRequest, FinishReason, Passage, Provider, Usage, estimate_tokens};

/// Words that ask for a person, in the languages the platform ships with.
const PERSON_PHRASES: &[&str] = &[
    "talk to a person",
    "speak to a person",
    "real person",
    "talk to someone",
    "customer service representative",
    "talk to a human",
    "speak to a human",
];
const GREETINGS: &[&str] = &["hi", "hello", "hey", "good morning", "good afternoon", "good evening", "hola", "bok"];
const THANKS: &[&str] = &["thanks", "thank you", "thx", "gracias", "hvala"];

/// The offline provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalProvider;

impl Provider for LocalProvider {
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> CompletionFuture<'a> {
        Box::pin(async move { Ok(answer(request)) })
    }

    fn name(&self) -> &'static str {
        "local"
    }

    fn model(&self) -> &'static str {
        "local"
    }
}

fn normalized(text: &str) -> String {
    words(text).join(" ")
}

/// The stems of the meaningful words of `text`.
fn terms(text: &str) -> HashSet<String> {
    words(text).iter().filter(|w| !is_stop_word(w) && w.chars().count() > 1).map(|w| stem(w)).collect()
}

fn answer(request: &CompletionRequest) -> Completion {
    let message = normalized(&request.message);
    let name = request.user_name.as_deref().and_then(|name| name.split_whitespace().next());
    let hello = name.map_or_else(|| "Hi!".to_owned(), |name| format!("Hi {name}!"));
    let mut citations = Vec::new();
    let (text, confidence, handoff_requested) = if PERSON_PHRASES.iter().any(|phrase| message.contains(phrase)) {
        ("Of course, I'll connect you with a person.".to_owned(), 1.0, true)
    } else if message.is_empty() {
        (format!("{hello} I can only read text messages for now. Could you type your question?"), 0.6, false)
    } else if GREETINGS.contains(&message.as_str()) {
        (format!("{hello} How can I help you today?"), 0.9, false)
    } else if THANKS.iter().any(|thanks| message == *thanks || message.starts_with(&format!("{thanks} "))) {
        ("You're welcome! Is there anything else I can help with?".to_owned(), 0.9, false)
    } else if request.context.is_empty() {
        (
            format!(
                "{hello} Thanks for your message. I couldn't find anything about that in the information I have; if \
                 you'd like a person from our team to help, just say so."
            ),
            0.6,
            false,
        )
    } else if let Some((used, score)) = best_passages(&request.message, &request.context) {
        citations = used.iter().map(|p| p.id).collect();
        let text = used.iter().map(|p| p.text.trim()).collect::<Vec<_>>().join("\n\n");
        (text, 0.5 + score / 2.0, false)
    } else {
        (
            "I'm sorry, I couldn't find anything about that in our documents. If you'd like, a person from our team \
             can help: just say so."
                .to_owned(),
            0.3,
            false,
        )
    };
    let prompt = request.history.iter().map(|turn| estimate_tokens(&turn.content)).sum::<u32>()
        + estimate_tokens(&request.system)
        + estimate_tokens(&request.message)
        + request.context.iter().map(|passage| estimate_tokens(&passage.text)).sum::<u32>();
    let usage = Usage { prompt_tokens: prompt, completion_tokens: estimate_tokens(&text) };
    Completion {
        text,
        tool_calls: Vec::new(),
        citations,
        confidence,
        handoff_requested,
        usage,
        cost_micro_usd: 0,
        finish_reason: FinishReason::Stop,
        model: "local".to_owned(),
        latency_ms: 0,
    }
}

/// The passage covering the largest share of the question's terms, plus the next one if it covers terms
/// the first does not; with the share of terms covered. `None` when no passage shares a term.
fn best_passages<'a>(question: &str, passages: &'a [Passage]) -> Option<(Vec<&'a Passage>, f64)> {
    let asked = terms(question);
    if asked.is_empty() {
        return None;
    }
    let mut scored: Vec<(&Passage, HashSet<String>)> = passages
        .iter()
        .map(|passage| (passage, terms(&passage.text).intersection(&asked).cloned().collect::<HashSet<_>>()))
        .filter(|(_, shared)| !shared.is_empty())
        .collect();
    // most shared terms first; the earlier (better retrieved) passage wins a tie
    scored.sort_by_key(|(_, shared)| std::cmp::Reverse(shared.len()));
    let mut scored = scored.into_iter();
    let (best, mut covered) = scored.next()?;
    let mut used = vec![best];
    if let Some((second, shared)) = scored.find(|(_, shared)| !shared.is_subset(&covered)) {
        used.push(second);
        covered.extend(shared);
    }
    #[expect(clippy::cast_precision_loss, reason = "term counts are small")]
    let score = covered.len() as f64 / asked.len() as f64;
    Some((used, score))
}

#[cfg(test)]
mod tests {
    use meta_chat_shared::ids::ChunkId;

    use super::*;

    fn passage(text: &str) -> Passage {
        Passage { id: ChunkId::new(), source: "faq.md".into(), text: text.into() }
    }

    fn ask(message: &str, context: &[Passage]) -> Completion {
        let request = CompletionRequest {
            message: message.to_owned(),
            context: context.to_vec(),
            user_name: Some("Sheena Nelson".into()),
            ..CompletionRequest::default()
        };
        answer(&request)
    }

    #[test]
    fn greets_by_first_name_and_thanks_back() {
        assert_eq!(ask("Hello!", &[]).text, "Hi Sheena! How can I help you today?");
        assert!(ask("thanks a lot", &[]).text.starts_with("You're welcome"));
    }

    #[test]
    fn answers_from_the_best_matching_passage_and_cites_it() {
        let hours = passage("Opening hours are 9 to 5.");
        let shipping = passage("The premium plan includes free international shipping.");
        let reply = ask("Does the premium plan include international shipping?", &[hours, shipping.clone()]);
        assert_eq!(reply.text, "The premium plan includes free international shipping.");
        assert_eq!(reply.citations, [shipping.id]);
        assert!(reply.confidence > 0.5, "{}", reply.confidence);
    }

    #[test]
    fn adds_a_second_passage_that_covers_more_of_the_question() {
        let shipping = passage("Premium orders ship free worldwide.");
        let returns = passage("Returns are accepted within 30 days.");
        let other = passage("Our office is in Zagreb.");
        let reply = ask("What about shipping and returns?", &[shipping.clone(), other, returns.clone()]);
        assert_eq!(reply.citations, [shipping.id, returns.id]);
        assert!(reply.text.contains("ship free") && reply.text.contains("30 days"), "{}", reply.text);
    }

    #[test]
    fn says_plainly_when_no_passage_is_relevant() {
        let reply = ask("Can I pay with bitcoin?", &[passage("Opening hours are 9 to 5.")]);
        assert!(reply.text.contains("couldn't find anything"), "{}", reply.text);
        assert!(reply.citations.is_empty());
        assert!(reply.confidence < 0.4, "{}", reply.confidence);
        assert!(!reply.handoff_requested);
    }

    #[test]
    fn admits_what_it_cannot_answer_without_inventing() {
        let reply = ask("Does the premium plan include international shipping?", &[]);
        assert!(reply.text.contains("couldn't find anything about that"), "{}", reply.text);
        assert!(!reply.handoff_requested);
        assert!(reply.citations.is_empty());
    }

    #[test]
    fn asks_for_a_handoff_when_the_user_wants_a_person() {
        let reply = ask("Can I talk to a person please", &[]);
        assert!(reply.handoff_requested);
    }

    #[test]
    fn is_deterministic() {
        let context = [passage("Returns are accepted within 30 days."), passage("Shipping is free.")];
        assert_eq!(ask("returns?", &context), ask("returns?", &context));
    }
}
