//! The one template engine of the text Switchboard sends on someone's behalf: canned replies
//! today, campaigns and WhatsApp templates next. One place decides what a template may say and
//! what a missing value does, so a raw `{{contact.first_name}}` never reaches a customer's phone.
//!
//! Templates are Jinja as MiniJinja parses and renders it, restricted to plain variable lookups:
//! `{{contact.first_name}}`, `{{ agent.name }}`. No statements (`{% … %}`), comments (`{# … #}`),
//! filters or expressions: a reply is text an agent writes, not a program. The variables are
//! `contact.*`, `agent.*` and `team.*` ([`ROOTS`]); their values come from one function,
//! [`TemplateContext::for_message`]. A variable whose value is absent or blank is *missing*:
//! [`Template::render`] lists it and leaves its placeholder visible in the text, and
//! [`Rendered::complete`] refuses to hand such a text on for sending.
//!
//! Values are inserted literally: a contact named `{{agent.name}}` is called exactly that (the
//! engine never evaluates its output), and nothing is HTML-escaped (SMS and WhatsApp are plain
//! text).

use crate::domain::{Contact, Team, User};
use crate::error::{DomainError, DomainResult};
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The objects a template may read fields of.
pub const ROOTS: &[&str] = &["contact", "agent", "team"];

/// The fields every context knows, as the API documents them (custom contact fields come on top).
pub const KNOWN_VARIABLES: &[&str] = &[
    "contact.name",
    "contact.first_name",
    "contact.last_name",
    "contact.phone",
    "contact.email",
    "contact.company",
    "agent.name",
    "agent.first_name",
    "agent.email",
    "team.name",
];

/// The longest field name after the root (a custom contact field's key).
const MAX_FIELD_CHARS: usize = 64;

/// The engine: no filters, tests or functions (MiniJinja's builtins are not compiled in), no
/// escaping, and an undefined value is an error, never an empty string.
static ENGINE: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Error positions (the byte range) for syntax errors.
    env.set_debug(true);
    // A reply that ends with a newline keeps it.
    let syntax = minijinja::syntax::SyntaxConfig::builder().keep_trailing_newline(true).build().expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env
});

/// Why a template was refused, and where (1-based line and column, in characters).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl TemplateError {
    fn at(source: &str, offset: usize, message: impl Into<String>) -> TemplateError {
        // A byte offset inside a character counts from that character's start.
        let offset = (0..=offset.min(source.len())).rev().find(|&i| source.is_char_boundary(i)).unwrap_or(0);
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        TemplateError { line, column, message: message.into() }
    }

    /// The error as the API answers it: 422 naming `field` and the position.
    pub fn invalid(self, field: &'static str) -> DomainError {
        DomainError::invalid(field, self.to_string())
    }
}

/// A checked template: its source and the variables it reads, in order of first use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    variables: Vec<String>,
}

/// A template rendered against one context.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    /// The text, with each missing variable's placeholder (`{{contact.first_name}}`) left in.
    pub text: String,
    /// The variables without a value (absent or blank), in order of first use.
    pub missing: Vec<String>,
}

impl Rendered {
    /// The text, when nothing is missing; `MissingVariables` otherwise (nothing may be sent).
    pub fn complete(self) -> DomainResult<String> {
        if self.missing.is_empty() { Ok(self.text) } else { Err(DomainError::MissingVariables(self.missing)) }
    }
}

impl Template {
    /// Checks `source`: Jinja syntax (MiniJinja's parser), then the restriction to plain
    /// `{{root.field}}` lookups of a known root.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        // Statements and comments first: MiniJinja would accept them, and their own syntax
        // errors would hide the simpler answer.
        for marker in ["{%", "{#"] {
            if let Some(at) = source.find(marker) {
                return Err(TemplateError::at(
                    source,
                    at,
                    format!("“{marker}” is not allowed: a template holds text and {{{{variables}}}} such as {{{{contact.first_name}}}}"),
                ));
            }
        }
        if let Err(e) = ENGINE.template_from_str(source) {
            let offset = e.range().map(|r| r.start).unwrap_or_else(|| line_start(source, e.line().unwrap_or(1)));
            return Err(TemplateError::at(source, offset, e.detail().unwrap_or("syntax error").to_owned()));
        }
        // The source parsed, so every `{{` opens an expression and the next `}}` closes it (a
        // `}}` inside a string literal ends up in an inner text that is no variable name, and is
        // refused below like any other expression).
        let mut variables: Vec<String> = Vec::new();
        let mut rest = 0;
        while let Some(open) = source[rest..].find("{{").map(|i| rest + i) {
            let inner_start = open + 2;
            let close = source[inner_start..].find("}}").map(|i| inner_start + i).unwrap_or(source.len());
            let path = variable_path(source, open, &source[inner_start..close])?;
            if !variables.contains(&path) {
                variables.push(path);
            }
            rest = (close + 2).min(source.len());
        }
        Ok(Template { source: source.to_owned(), variables })
    }

    /// The source as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables it reads (`contact.first_name`), in order of first use.
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// Renders against `context`: every value inserted as it is; each missing variable listed
    /// and its placeholder left in the text for a person to see.
    pub fn render(&self, context: &TemplateContext) -> DomainResult<Rendered> {
        let mut roots: BTreeMap<&str, BTreeMap<String, Value>> = ROOTS.iter().map(|r| (*r, BTreeMap::new())).collect();
        let mut missing = Vec::new();
        for path in &self.variables {
            let (root, field) = path.split_once('.').expect("parse checked root.field");
            let value = match context.get(path) {
                Some(v) => v.to_owned(),
                None => {
                    missing.push(path.clone());
                    placeholder(path)
                }
            };
            roots.entry(root).or_default().insert(field.to_owned(), Value::from(value));
        }
        let root: BTreeMap<&str, Value> = roots.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
        let text = ENGINE
            .template_from_str(&self.source)
            .and_then(|t| t.render(Value::from(root)))
            .map_err(|e| DomainError::Internal(format!("rendering a checked template: {e}")))?;
        Ok(Rendered { text, missing })
    }
}

/// The body of an approved template (Twilio's Content API): text with Twilio's placeholders
/// `{{1}}`, `{{order_id}}` (a key of letters, digits and `_`, no root). It is rendered by the same
/// engine as every other template: each placeholder becomes a lookup of its key in `var`, and
/// the rest stays text (`{%` and `{#` are refused, as in a reply). A value that is absent or
/// blank is missing: listed, its placeholder left visible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentBody {
    /// The engine's source: `{{ var["1"] }}` for each placeholder.
    engine_source: String,
    keys: Vec<String>,
}

impl ContentBody {
    /// Checks `source` and translates it for the engine.
    pub fn parse(source: &str) -> Result<ContentBody, TemplateError> {
        for marker in ["{%", "{#"] {
            if let Some(at) = source.find(marker) {
                return Err(TemplateError::at(source, at, format!("“{marker}” is not allowed in a template body")));
            }
        }
        let mut engine_source = String::with_capacity(source.len() + 16);
        let mut keys: Vec<String> = Vec::new();
        let mut rest = 0;
        while let Some(open) = source[rest..].find("{{").map(|i| rest + i) {
            engine_source.push_str(&source[rest..open]);
            let inner_start = open + 2;
            let Some(close) = source[inner_start..].find("}}").map(|i| inner_start + i) else {
                return Err(TemplateError::at(source, open, "“{{” is never closed with “}}”"));
            };
            let key = source[inner_start..close].trim();
            let ok = (1..=16).contains(&key.chars().count()) && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                let shown: String = key.chars().take(40).collect();
                return Err(TemplateError::at(
                    source,
                    open,
                    format!("{{{{ {shown} }}}} is not a variable: write {{{{1}}}} or {{{{order_id}}}}"),
                ));
            }
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
            engine_source.push_str(&format!("{{{{ var[\"{key}\"] }}}}"));
            rest = close + 2;
        }
        engine_source.push_str(&source[rest..]);
        if let Err(e) = ENGINE.template_from_str(&engine_source) {
            return Err(TemplateError::at(source, 0, e.detail().unwrap_or("syntax error").to_owned()));
        }
        Ok(ContentBody { engine_source, keys })
    }

    /// The keys of its placeholders, in order of first use.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The text with `values` filled in; each key without a value (absent or blank) listed and
    /// its placeholder (`{{1}}`) left in.
    pub fn render(&self, values: &BTreeMap<String, String>) -> DomainResult<Rendered> {
        let mut var: BTreeMap<String, Value> = BTreeMap::new();
        let mut missing = Vec::new();
        for key in &self.keys {
            let value = match values.get(key).filter(|v| !v.trim().is_empty()) {
                Some(v) => v.clone(),
                None => {
                    missing.push(key.clone());
                    placeholder(key)
                }
            };
            var.insert(key.clone(), Value::from(value));
        }
        let root: BTreeMap<&str, Value> = BTreeMap::from([("var", Value::from(var))]);
        let text = ENGINE
            .template_from_str(&self.engine_source)
            .and_then(|t| t.render(Value::from(root)))
            .map_err(|e| DomainError::Internal(format!("rendering a checked template body: {e}")))?;
        Ok(Rendered { text, missing })
    }
}

/// The placeholder a missing variable leaves in a preview.
fn placeholder(path: &str) -> String {
    format!("{{{{{path}}}}}")
}

/// The byte offset where 1-based `line` starts.
fn line_start(source: &str, line: usize) -> usize {
    source.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum()
}

/// The `root.field` an expression's inner text names, or why it is not one.
fn variable_path(source: &str, open: usize, inner: &str) -> Result<String, TemplateError> {
    let text = inner.trim();
    let shown: String = text.chars().take(40).collect();
    let not_a_variable = || {
        TemplateError::at(
            source,
            open,
            format!("{{{{ {shown} }}}} is not a variable: write a name such as {{{{contact.first_name}}}} (no filters or expressions)"),
        )
    };
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = text.split('.').collect();
    if !parts.iter().all(|p| ident(p)) {
        return Err(not_a_variable());
    }
    let known_roots = "contact.…, agent.… or team.…";
    match parts.as_slice() {
        [root, field] if ROOTS.contains(root) => {
            if field.chars().count() > MAX_FIELD_CHARS {
                return Err(TemplateError::at(
                    source,
                    open,
                    format!("{{{{ {shown} }}}}: a field name has at most {MAX_FIELD_CHARS} characters"),
                ));
            }
            Ok(format!("{root}.{field}"))
        }
        [root] if ROOTS.contains(root) => {
            Err(TemplateError::at(source, open, format!("{{{{{root}}}}} needs a field, such as {{{{{root}.name}}}}")))
        }
        [root, ..] if ROOTS.contains(root) => {
            Err(TemplateError::at(source, open, format!("{{{{ {shown} }}}}: variables have one field after {root}. (such as {root}.name)")))
        }
        _ => Err(TemplateError::at(source, open, format!("unknown variable {{{{ {shown} }}}}: variables are {known_roots}"))),
    }
}

/// The values a template is rendered against: `root` → field → text. Absent and blank values
/// are missing alike.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateContext {
    values: BTreeMap<&'static str, BTreeMap<String, String>>,
}

impl TemplateContext {
    /// The context of a message to `contact`, written by `agent` of `team`: the one place that
    /// says what each variable means (a new contact field is one `set` here). The team's custom
    /// contact fields are `contact.<key>`; their keys never shadow a built-in field.
    pub fn for_message(contact: &Contact, agent: &User, team: &Team) -> TemplateContext {
        let mut ctx = TemplateContext::for_contact(contact, team);
        ctx.set("agent", "name", Some(&agent.name));
        ctx.set("agent", "first_name", split_name(&agent.name).0);
        ctx.set("agent", "email", Some(&agent.email));
        ctx
    }

    /// The context of a message nobody wrote (an automatic reply): the contact and the team;
    /// `agent.*` is missing.
    pub fn for_contact(contact: &Contact, team: &Team) -> TemplateContext {
        let mut ctx = TemplateContext::default();
        for (key, value) in &contact.custom_fields {
            match value {
                serde_json::Value::String(text) => ctx.set("contact", key, Some(text)),
                serde_json::Value::Null => {}
                other => ctx.set("contact", key, Some(other.to_string())),
            }
        }
        // The name parts as entered, else as the shown name splits ("Ada King Lovelace").
        let (first, last) = split_name(&contact.name);
        ctx.set("contact", "name", Some(&contact.name));
        ctx.set("contact", "first_name", entered(&contact.first_name).or(first));
        ctx.set("contact", "last_name", entered(&contact.last_name).or(last));
        ctx.set("contact", "phone", Some(&contact.phone));
        ctx.set("contact", "email", contact.email.as_deref());
        ctx.set("contact", "company", contact.company.as_deref());
        ctx.set("team", "name", Some(&team.name));
        ctx
    }

    /// Sets `root.field` (`None` or blank: missing).
    pub fn set(&mut self, root: &'static str, field: &str, value: Option<impl AsRef<str>>) {
        let fields = self.values.entry(root).or_default();
        match value {
            Some(v) => fields.insert(field.to_owned(), v.as_ref().to_owned()),
            None => fields.remove(field),
        };
    }

    /// The value of `root.field`, unless it is absent or blank.
    pub fn get(&self, path: &str) -> Option<&str> {
        let (root, field) = path.split_once('.')?;
        self.values.get(root)?.get(field).map(String::as_str).filter(|v| !v.trim().is_empty())
    }
}

/// A name part as entered, unless it is blank.
fn entered(part: &Option<String>) -> Option<&str> {
    part.as_deref().map(str::trim).filter(|p| !p.is_empty())
}

/// A person's first name and the rest: "Ada King Lovelace" → ("Ada", "King Lovelace"); a
/// single word is a first name only.
fn split_name(name: &str) -> (Option<&str>, Option<&str>) {
    let name = name.trim();
    match name.split_once(char::is_whitespace) {
        Some((first, rest)) => (Some(first), Some(rest.trim_start())),
        None if name.is_empty() => (None, None),
        None => (Some(name), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::ids::*;

    fn people(contact_name: &str) -> (Contact, User, Team) {
        let team = Team { id: TeamId::new(), name: "Acme Support".into(), simulator_mode: true, default_country: None };
        let contact = Contact::new(ContactId::new(), team.id, contact_name.into(), "+14155550100".into(), crate::clock::now());
        let agent =
            User { id: UserId::new(), team_id: team.id, email: "grace@acme.test".into(), name: "Grace Hopper".into(), role: Role::Agent };
        (contact, agent, team)
    }

    fn render(source: &str, contact_name: &str) -> Rendered {
        let (c, a, t) = people(contact_name);
        Template::parse(source).unwrap().render(&TemplateContext::for_message(&c, &a, &t)).unwrap()
    }

    #[test]
    fn renders_every_known_variable() {
        let r = render(
            "Hi {{contact.first_name}} ({{ contact.name }}, {{contact.last_name}}, {{contact.phone}}), {{agent.first_name}} of {{team.name}} here. — {{agent.name}} <{{agent.email}}>",
            "Ada King Lovelace",
        );
        assert_eq!(
            r.text,
            "Hi Ada (Ada King Lovelace, King Lovelace, +14155550100), Grace of Acme Support here. — Grace Hopper <grace@acme.test>"
        );
        assert!(r.missing.is_empty());
        assert_eq!(r.clone().complete().unwrap(), r.text);
    }

    #[test]
    fn missing_and_blank_values_are_listed_and_stay_visible() {
        let r = render("Hi {{contact.first_name}}, {{ contact.email }} at {{contact.company}}; {{contact.first_name}} again", "  ");
        assert_eq!(r.missing, vec!["contact.first_name", "contact.email", "contact.company"]);
        assert_eq!(r.text, "Hi {{contact.first_name}}, {{contact.email}} at {{contact.company}}; {{contact.first_name}} again");
        match r.complete() {
            Err(DomainError::MissingVariables(m)) => assert_eq!(m.len(), 3),
            other => panic!("expected missing variables, got {other:?}"),
        }
        let one_word = render("{{contact.first_name}}/{{contact.last_name}}", "Cher");
        assert_eq!(one_word.missing, vec!["contact.last_name"]);
        assert_eq!(one_word.text, "Cher/{{contact.last_name}}");
    }

    #[test]
    fn values_are_inserted_literally_never_evaluated_or_escaped() {
        let r = render("Hello {{contact.name}}!", "{{agent.name}} {% if x %}<b>&\"'</b>");
        assert_eq!(r.text, "Hello {{agent.name}} {% if x %}<b>&\"'</b>!");
        assert!(r.missing.is_empty(), "a value that looks like a variable is text, not a variable");
    }

    #[test]
    fn text_around_variables_is_kept_as_written() {
        let e = Template::parse("Olá ✓\n{{ contact.name | x }}").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1), "positions count characters");
        assert_eq!(TemplateError::at("✓✓", 4, "x").column, 2, "an offset inside a character");
        let r = render("Line one,\n  {{contact.first_name}} & <you>\n", "Ada");
        assert_eq!(r.text, "Line one,\n  Ada & <you>\n");
        let plain = render("No variables at all: 100% }} %} #}", "Ada");
        assert_eq!(plain.text, "No variables at all: 100% }} %} #}");
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let e = Template::parse("Hi {{contact.first_name").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.column >= 4, "{e}");
        let e = Template::parse("Hello\nthere {{ contact.name }} {{ ").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = Template::parse("Hi {% if contact.name %}x{% endif %}").unwrap_err();
        assert_eq!((e.line, e.column), (1, 4));
        assert!(e.message.contains("not allowed"), "{e}");
        assert!(Template::parse("Hi {# note #}").is_err());
    }

    #[test]
    fn only_plain_variables_of_known_roots_are_allowed() {
        for bad in [
            "{{ contact.name | upper }}",
            "{{ contact.name ~ 'x' }}",
            "{{ 1 + 2 }}",
            "{{ 'literal' }}",
            "{{ contact['name'] }}",
            "{{ range(3) }}",
            "{{ contact }}",
            "{{ contact.name.first }}",
            "{{ user.name }}",
            "{{- contact.name }}",
            "{{ \"}}\" }}",
        ] {
            let e = Template::parse(bad).unwrap_err();
            assert_eq!((e.line, e.column), (1, 1), "{bad}: {e}");
        }
        let t = Template::parse("{{contact.vip_level}} {{ team.name }}{{contact.vip_level}}").unwrap();
        assert_eq!(t.variables(), ["contact.vip_level", "team.name"], "custom contact fields are allowed, each listed once");
    }

    #[test]
    fn the_context_is_built_in_one_place() {
        let (mut c, a, t) = people("Ada Lovelace");
        c.email = Some("ada@example.com".into());
        let ctx = TemplateContext::for_message(&c, &a, &t);
        for path in KNOWN_VARIABLES {
            let t = Template::parse(&format!("{{{{{path}}}}}")).unwrap();
            let r = t.render(&ctx).unwrap();
            assert_eq!(r.missing.is_empty(), *path != "contact.company", "{path}");
        }
        assert_eq!(ctx.get("contact.email"), Some("ada@example.com"));

        // Name parts as entered win over the split name; company and custom fields are read.
        c.first_name = Some("Augusta".into());
        c.last_name = Some("  ".into());
        c.company = Some("Analytical Engines".into());
        c.custom_fields.insert("plan".into(), serde_json::json!("Gold"));
        c.custom_fields.insert("seats".into(), serde_json::json!(12));
        let r = Template::parse(
            "{{contact.first_name}} {{contact.last_name}} of {{contact.company}}: {{contact.plan}} x{{contact.seats}} {{contact.vip}}",
        )
        .unwrap()
        .render(&TemplateContext::for_message(&c, &a, &t))
        .unwrap();
        assert_eq!(r.text, "Augusta Lovelace of Analytical Engines: Gold x12 {{contact.vip}}");
        assert_eq!(r.missing, vec!["contact.vip"], "a custom field the contact has no value for is missing");
    }

    #[test]
    fn content_bodies_fill_twilio_placeholders_literally() {
        let body = ContentBody::parse("Hi {{1}}, order {{ order_id }} is ready. {{1}}!").unwrap();
        assert_eq!(body.keys(), ["1", "order_id"]);
        let values = BTreeMap::from([("1".to_owned(), "{{agent.name}} & <Ada>".to_owned()), ("order_id".to_owned(), " ".to_owned())]);
        let r = body.render(&values).unwrap();
        assert_eq!(r.text, "Hi {{agent.name}} & <Ada>, order {{order_id}} is ready. {{agent.name}} & <Ada>!");
        assert_eq!(r.missing, vec!["order_id"], "a blank value is missing and its placeholder stays");
        for bad in ["Hi {{contact.name}}", "Hi {{1", "{% if x %}", "{{ 1 + 1 }}", "{{}}"] {
            assert!(ContentBody::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ContentBody::parse("No variables }} here").unwrap().render(&BTreeMap::new()).unwrap().text, "No variables }} here");
    }
}
