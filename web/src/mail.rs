//! The e-mail the edge sends: reset links, sign-up confirmations and notices to an account's
//! owner. The words are askama text templates (`web/templates/mail/`); delivery is the
//! server's [`Outbox`] (SMTP, or the server log when SMTP is not set up), which queues and
//! never holds a request up.

use askama::Template;

/// One plain-text mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Where mail goes.
pub trait Outbox: Send + Sync {
    /// Whether mail really leaves (SMTP is set up). Without it, mail is written to the server
    /// log, and sign-up does not wait for an e-mail to be confirmed.
    fn delivers(&self) -> bool;
    /// Queues `mail`, never waiting: a full queue drops it (and logs that).
    fn post(&self, mail: Mail);
}

/// A reset link for the account's owner.
#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
pub struct PasswordReset<'a> {
    pub name: &'a str,
    pub link: &'a str,
    pub minutes: i64,
}

/// The account's password changed (by the owner, or through a reset link).
#[derive(Template)]
#[template(path = "mail/password_changed.txt")]
pub struct PasswordChanged<'a> {
    pub name: &'a str,
    pub forgot_link: &'a str,
}

/// The link that confirms a sign-up.
#[derive(Template)]
#[template(path = "mail/confirm_sign_up.txt")]
pub struct ConfirmSignUp<'a> {
    pub name: &'a str,
    pub link: &'a str,
    pub hours: i64,
}

/// Somebody tried to sign up with an address that has an account: its owner is told (the
/// person signing up is told nothing more than anyone else).
#[derive(Template)]
#[template(path = "mail/sign_up_attempt.txt")]
pub struct SignUpAttempt<'a> {
    pub name: &'a str,
    pub sign_in_link: &'a str,
    pub forgot_link: &'a str,
}

impl Mail {
    /// `body` rendered, to `to`. A template that cannot render (it has no fallible parts) is
    /// sent as its subject alone rather than not at all.
    pub fn new(to: &str, subject: &str, body: &impl Template) -> Mail {
        let text = body.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, subject, "a mail template did not render");
            subject.to_owned()
        });
        Mail { to: to.to_owned(), subject: subject.to_owned(), text }
    }
}

/// Without SMTP: every mail is written to the server log (at `warn`, so the reset link an
/// operator needs is seen), and nothing leaves.
pub struct LogOutbox;

impl Outbox for LogOutbox {
    fn delivers(&self) -> bool {
        false
    }

    fn post(&self, mail: Mail) {
        tracing::warn!(to = %mail.to, subject = %mail.subject, text = %mail.text, "mail not sent (SMTP_URL is not set); it reads");
    }
}
