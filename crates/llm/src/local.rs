//! The built-in local provider: works offline and needs no key, so a new installation answers at once. It
//! is deliberately modest and honest: it answers from retrieved passages when there are any (the passage
//! sharing the most words with the question), handles greetings and thanks, and otherwise says it cannot
//! look the question up and how to reach a person. It never invents facts. It asks for a hand-off itself
//! when the user says they want a person.

use std::collections::HashSet;

use crate::{Completion, CompletionFuture, CompletionRequest, Provider, Usage, estimate_tokens};

/// Words that ask for a person, in the languages the platform ships with.
const PERSON_PHRASES: &[&str] =
    &["talk to a person", "speak to a person", "real person", "talk to someone", "customer service representative"];
const GREETINGS: &[&str] = &["hi", "hello", "hey", "good morning", "good afternoon", "good evening", "hola", "bok"];
const THANKS: &[&str] = &["thanks", "thank you", "thx", "gracias", "hvala"];

/// The offline provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalProvider;

impl Provider for LocalProvider {
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> CompletionFuture<'a> {
        Box::pin(async move { Ok(answer(request)) })
    }
}

fn normalized(text: &str) -> String {
    text.to_lowercase().chars().map(|c| if c.is_alphanumeric() || c.is_whitespace() { c } else { ' ' }).collect()
}

fn words(text: &str) -> HashSet<String> {
    normalized(text).split_whitespace().filter(|word| word.chars().count() > 2).map(str::to_owned).collect()
}

fn answer(request: &CompletionRequest) -> Completion {
    let message = normalized(&request.message);
    let trimmed = message.trim();
    let name = request.user_name.as_deref().and_then(|name| name.split_whitespace().next());
    let hello = name.map_or_else(|| "Hi!".to_owned(), |name| format!("Hi {name}!"));
    let (text, confidence, handoff_requested) = if PERSON_PHRASES.iter().any(|phrase| trimmed.contains(phrase)) {
        ("Of course, I'll connect you with a person.".to_owned(), 1.0, true)
    } else if trimmed.is_empty() {
        (format!("{hello} I can only read text messages for now. Could you type your question?"), 0.6, false)
    } else if GREETINGS.contains(&trimmed) {
        (format!("{hello} How can I help you today?"), 0.9, false)
    } else if THANKS.iter().any(|thanks| trimmed == *thanks || trimmed.starts_with(&format!("{thanks} "))) {
        ("You're welcome! Is there anything else I can help with?".to_owned(), 0.9, false)
    } else if let Some((passage, score)) = best_passage(&request.message, &request.context) {
        (passage.to_owned(), score, false)
    } else {
        (
            format!(
                "{hello} Thanks for your message. I can't look that up yet; if you'd like a person from our team to \
                 help, just say so."
            ),
            0.6,
            false,
        )
    };
    let prompt = request.history.iter().map(|turn| estimate_tokens(&turn.content)).sum::<u32>()
        + estimate_tokens(&request.system)
        + estimate_tokens(&request.message)
        + request.context.iter().map(|passage| estimate_tokens(passage)).sum::<u32>();
    let usage = Usage { prompt_tokens: prompt, completion_tokens: estimate_tokens(&text) };
    Completion { text, confidence, handoff_requested, usage }
}

/// The passage sharing the largest share of the question's words, with that share as its score.
fn best_passage<'a>(question: &str, passages: &'a [String]) -> Option<(&'a str, f64)> {
    let asked = words(question);
    if asked.is_empty() {
        return None;
    }
    passages
        .iter()
        .map(|passage| {
            let shared = words(passage).intersection(&asked).count();
            #[expect(clippy::cast_precision_loss, reason = "word counts are small")]
            let score = shared as f64 / asked.len() as f64;
            (passage.as_str(), score)
        })
        .filter(|(_, score)| *score > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(message: &str, context: &[&str]) -> Completion {
        let request = CompletionRequest {
            message: message.to_owned(),
            context: context.iter().map(|c| (*c).to_owned()).collect(),
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
    fn answers_from_the_best_matching_passage() {
        let reply = ask(
            "Does the premium plan include international shipping?",
            &["Opening hours are 9 to 5.", "The premium plan includes free international shipping."],
        );
        assert_eq!(reply.text, "The premium plan includes free international shipping.");
        assert!(reply.confidence > 0.5, "{}", reply.confidence);
    }

    #[test]
    fn admits_what_it_cannot_answer_without_inventing() {
        let reply = ask("Does the premium plan include international shipping?", &[]);
        assert!(reply.text.contains("can't look that up"), "{}", reply.text);
        assert!(!reply.handoff_requested);
    }

    #[test]
    fn asks_for_a_handoff_when_the_user_wants_a_person() {
        let reply = ask("Can I talk to a person please", &[]);
        assert!(reply.handoff_requested);
    }
}
