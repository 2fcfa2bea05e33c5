//! The rules of full-text search, written once: what a query may be, how it becomes a Postgres
//! `tsquery` (every word, the last one as a prefix, so "refu" finds "refund" while the agent
//! types), when it is
//! a phone fragment (matched by trigrams on the digits), and how a snippet is made safe to
//! show: the store marks matches with two private-use characters (`MARK_START`, `MARK_END`),
//! and `snippet_html` escapes everything else and turns only those into `<mark>` tags.

use crate::error::{DomainError, DomainResult};

/// The longest query.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many words count; more would only slow the index down.
pub const MAX_WORDS: usize = 8;
/// A phone fragment needs this many digits (a trigram).
pub const MIN_PHONE_DIGITS: usize = 3;
/// Where a match starts and ends in a snippet the store produced (never typed by anyone: they
/// are removed from the text before the store marks it).
pub const MARK_START: char = '\u{E000}';
pub const MARK_END: char = '\u{E001}';

/// A query, read once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerms {
    /// As typed, trimmed: matched against names and emails as a substring (any case).
    pub text: String,
    /// The `to_tsquery('simple', …)` input: quoted words joined by `&`, each a prefix; `None`
    /// when no word has a letter or digit (the query matches no message or note).
    pub tsquery: Option<String>,
    /// The words of `tsquery`, lower-cased, in order (the store estimates how common they are).
    pub words: Vec<String>,
    /// Whether the last of `words` is matched as a prefix.
    pub last_is_prefix: bool,
    /// The digits when the query looks like (a part of) a phone number: matched anywhere in
    /// the E.164 number.
    pub digits: Option<String>,
}

/// Characters with a meaning inside a tsquery (operators, weights, quotes).
fn is_operator(c: char) -> bool {
    matches!(c, '&' | '|' | '!' | '(' | ')' | ':' | '*' | '\'' | '\\' | '<' | '>' | '"') || c == MARK_START || c == MARK_END
}

/// Reads a search query: 1 to 200 characters after trimming, no NUL.
pub fn terms(q: &str) -> DomainResult<SearchTerms> {
    let text = q.trim();
    super::plain_text("q", text)?;
    if text.is_empty() {
        return Err(DomainError::invalid("q", "must not be empty"));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(DomainError::invalid("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !is_operator(*c) && !c.is_control()).collect::<String>().to_lowercase())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(MAX_WORDS)
        .collect();
    // The last word may be half typed: it is a prefix (of two letters at least: a one-letter
    // prefix would match half the index). The others are whole words, which the GIN index
    // intersects far faster than prefixes (each prefix is a union of every word it starts).
    let last_is_prefix = words.last().is_some_and(|w| w.chars().count() > 1);
    let tsquery = (!words.is_empty()).then(|| {
        let last = words.len() - 1;
        let word = |(i, w): (usize, &String)| if i == last && last_is_prefix { format!("'{w}':*") } else { format!("'{w}'") };
        words.iter().enumerate().map(word).collect::<Vec<_>>().join(" & ")
    });
    let phoneish = text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let digits = (phoneish && digits.len() >= MIN_PHONE_DIGITS).then_some(digits);
    Ok(SearchTerms { text: text.to_owned(), tsquery, words, last_is_prefix, digits })
}

/// Text with the markers removed: what the store marks (a body that happens to contain them
/// cannot fake a match).
pub fn unmarked(text: &str) -> String {
    text.chars().filter(|c| *c != MARK_START && *c != MARK_END).collect()
}

/// A snippet as HTML: the text escaped, each marked match in `<mark>…</mark>`, and every mark
/// closed. Safe to assign to `innerHTML`.
pub fn snippet_html(marked: &str) -> String {
    let mut out = String::with_capacity(marked.len() + 16);
    let mut open = false;
    for c in marked.chars() {
        match c {
            MARK_START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            MARK_END if open => {
                out.push_str("</mark>");
                open = false;
            }
            MARK_START | MARK_END => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

/// A contact's fields as a snippet: the first field that matched, its match marked (any case).
pub fn contact_snippet(terms: &SearchTerms, fields: &[&str]) -> String {
    let needle = terms.text.to_lowercase();
    for field in fields {
        let lower = field.to_lowercase();
        // Lower-casing may change lengths (rare scripts): then the field is shown unmarked.
        if let Some(at) = lower.find(&needle).filter(|_| lower.len() == field.len()) {
            let end = at + needle.len();
            if field.is_char_boundary(at) && field.is_char_boundary(end) {
                return snippet_html(&format!("{}{MARK_START}{}{MARK_END}{}", &field[..at], &field[at..end], &field[end..]));
            }
        }
        if let Some(digits) = &terms.digits
            && let Some(at) = field.find(digits.as_str())
        {
            let end = at + digits.len();
            return snippet_html(&format!("{}{MARK_START}{}{MARK_END}{}", &field[..at], &field[at..end], &field[end..]));
        }
    }
    snippet_html(fields.first().copied().unwrap_or_default())
}

/// Whether a text matches the query's words the way the store's `tsquery` does (every word
/// found as the start of a word, any case): the in-memory store's twin of the GIN match.
pub fn matches_words(terms: &SearchTerms, text: &str) -> bool {
    let Some(q) = &terms.tsquery else { return false };
    let words: Vec<String> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    q.split(" & ").all(|part| {
        let prefix = part.ends_with(":*");
        let word = part.trim_end_matches(":*").trim_matches('\'');
        let pieces: Vec<&str> = word.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        pieces.iter().all(|p| words.iter().any(|w| if prefix { w.starts_with(p) } else { w == p }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_quoted_prefixes_and_operators_are_dropped() {
        let t = terms("  Refund  o'brien & (x) ").unwrap();
        assert_eq!(t.text, "Refund  o'brien & (x)");
        assert_eq!(t.tsquery.as_deref(), Some("'refund' & 'obrien' & 'x'"));
        assert_eq!(terms("late refu").unwrap().tsquery.as_deref(), Some("'late' & 'refu':*"));
        assert_eq!(t.digits, None);
        assert_eq!(terms("!!! &&").unwrap().tsquery, None);
    }

    #[test]
    fn phone_fragments_are_digits() {
        assert_eq!(terms("(555) 01-23").unwrap().digits.as_deref(), Some("5550123"));
        assert_eq!(terms("+5 5").unwrap().digits, None, "two digits are not a trigram");
        assert_eq!(terms("call 555").unwrap().digits, None);
    }

    #[test]
    fn bad_queries_are_refused() {
        assert!(terms("   ").is_err());
        assert!(terms("a\0b").is_err());
        assert!(terms(&"x".repeat(MAX_QUERY_CHARS + 1)).is_err());
    }

    #[test]
    fn snippets_escape_everything_but_the_marks() {
        let raw = format!("<script>&{MARK_START}refund{MARK_END}\" {MARK_END}{MARK_START}open");
        assert_eq!(snippet_html(&raw), "&lt;script&gt;&amp;<mark>refund</mark>&quot; <mark>open</mark>");
        assert_eq!(unmarked(&format!("a{MARK_START}b{MARK_END}")), "ab");
    }

    #[test]
    fn contact_snippets_mark_the_match() {
        let t = terms("ann").unwrap();
        assert_eq!(contact_snippet(&t, &["Joanne <x>", "+15550100"]), "Jo<mark>ann</mark>e &lt;x&gt;");
        let t = terms("555 01").unwrap();
        assert_eq!(contact_snippet(&t, &["Bob", "+15550100"]), "+1<mark>55501</mark>00");
    }

    #[test]
    fn the_fake_matches_words_as_prefixes() {
        let t = terms("refund ord").unwrap();
        assert!(matches_words(&t, "Your REFUND for order 12"));
        assert!(!matches_words(&t, "Your refund"));
        assert!(!matches_words(&terms("refu ord").unwrap(), "Your refund for order 12"), "only the last word is a prefix");
    }
}
