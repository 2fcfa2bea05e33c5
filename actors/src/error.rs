//! The core's one error type. The web layer maps each variant to an HTTP status or a WebSocket
//! close code in exactly one place (`web::error`).

/// Everything a domain command can answer instead of success.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DomainError {
    /// The thing does not exist, or belongs to another team (never say which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule or a state rule refused the change (duplicate phone, message no longer
    /// scheduled, …).
    #[error("{0}")]
    Conflict(String),
    /// A field's value is not acceptable.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// A template (a canned reply) reads variables that have no value for this conversation:
    /// nothing was sent, so no raw `{{placeholder}}` reaches the customer.
    #[error("fill in {} before sending: this conversation has no value for {}", .0.iter().map(|v| format!("{{{{{v}}}}}")).collect::<Vec<_>>().join(", "), if .0.len() == 1 { "it" } else { "them" })]
    MissingVariables(Vec<String>),
    /// The contact opted out (STOP); nothing may be sent to them until they opt back in.
    #[error("the contact has opted out of messages (they replied STOP); they must text START to opt back in")]
    OptedOut,
    /// A free-form WhatsApp message outside the 24-hour window (the contact has not written for
    /// 24 hours): only an approved template may be sent.
    #[error("the WhatsApp 24-hour window is closed: the contact has not written for 24 hours, so only an approved template may be sent")]
    WindowClosed,
    /// A Twilio trial account may only send to verified numbers.
    #[error("{0} is not a verified number: a trial account may only send to VERIFIED_NUMBERS")]
    NotVerified(String),
    /// Wrong or missing credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// An actor did not answer in time, a dependency (Postgres) is down, or the process is
    /// shutting down.
    #[error("the server is busy, try again")]
    Unavailable,
    /// Too many attempts (failed sign-ins for one account): try again after `retry_after` seconds.
    #[error("too many failed attempts: try again in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// The thread already has as many commands queued as it may: try again in a moment.
    #[error("this conversation is busy, try again in a moment")]
    Busy,
    /// A store or infrastructure failure; the details are logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl DomainError {
    /// A shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid { field, message: message.into() }
    }
}

/// The core's result type.
pub type DomainResult<T> = Result<T, DomainError>;
