//! What can go wrong on a socket, and what the client is told: each error owns its Pusher code,
//! whether the connection closes, and how pusher-js should reconnect. The code ranges follow
//! the Pusher protocol: 4000–4099 close and must not reconnect with the same parameters,
//! 4100–4199 close and reconnect after a back-off, 4200–4299 close and reconnect at once,
//! 4300–4399 are errors the connection survives.

use actors::protocol::code;

/// How a client should come back after a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconnect {
    /// The same request would fail again.
    Never,
    /// After a back-off (the server is loaded, or the client was too slow).
    AfterBackoff,
    /// At once (to another node, or after answering our ping).
    Now,
    /// The connection stays open.
    Stays,
}

/// An error on one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("unknown app key")]
    UnknownAppKey,
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("too slow to read: reconnect and catch up")]
    SlowConsumer,
    #[error("server shutting down, reconnect")]
    ShuttingDown,
    #[error("pong not received")]
    PongNotReceived,
    #[error("too many client events: at most 10 per second")]
    ClientEventRateLimit,
    /// A frame that is not the protocol (binary, not JSON, missing fields, unknown event).
    #[error("{0}")]
    BadFrame(&'static str),
}

/// Code of the errors the connection survives that have no code of their own in the protocol.
const GENERIC: u16 = 4300;

impl GatewayError {
    /// The Pusher code sent in `pusher:error` (and as the close code when it closes).
    pub fn code(self) -> u16 {
        match self {
            GatewayError::UnknownAppKey => code::APP_NOT_FOUND,
            GatewayError::Unauthorized(_) => code::UNAUTHORIZED,
            GatewayError::SlowConsumer => code::OVER_CAPACITY,
            GatewayError::ShuttingDown => code::RECONNECT,
            GatewayError::PongNotReceived => code::PONG_NOT_RECEIVED,
            GatewayError::ClientEventRateLimit => code::CLIENT_EVENT_RATE_LIMIT,
            GatewayError::BadFrame(_) => GENERIC,
        }
    }

    /// How the client should reconnect, if the connection closes at all.
    pub fn reconnect(self) -> Reconnect {
        match self.code() {
            4000..=4099 => Reconnect::Never,
            4100..=4199 => Reconnect::AfterBackoff,
            4200..=4299 => Reconnect::Now,
            _ => Reconnect::Stays,
        }
    }

    /// Whether the server closes the connection after saying so.
    pub fn closes(self) -> bool {
        self.reconnect() != Reconnect::Stays
    }

    /// The error a close code asked for by the hub or the core stands for.
    pub fn from_close_code(code: u16) -> GatewayError {
        match code {
            code::OVER_CAPACITY => GatewayError::SlowConsumer,
            code::PONG_NOT_RECEIVED => GatewayError::PongNotReceived,
            code::UNAUTHORIZED => GatewayError::Unauthorized("access was revoked"),
            code::APP_NOT_FOUND => GatewayError::UnknownAppKey,
            _ => GatewayError::ShuttingDown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_say_how_to_reconnect() {
        assert_eq!(GatewayError::UnknownAppKey.reconnect(), Reconnect::Never);
        assert_eq!(GatewayError::Unauthorized("x").reconnect(), Reconnect::Never);
        assert_eq!(GatewayError::SlowConsumer.reconnect(), Reconnect::AfterBackoff);
        assert_eq!(GatewayError::ShuttingDown.reconnect(), Reconnect::Now);
        assert_eq!(GatewayError::PongNotReceived.reconnect(), Reconnect::Now);
        assert!(!GatewayError::ClientEventRateLimit.closes());
        assert!(!GatewayError::BadFrame("x").closes());
        assert_eq!(GatewayError::from_close_code(4100), GatewayError::SlowConsumer);
        assert_eq!(GatewayError::from_close_code(4200), GatewayError::ShuttingDown);
    }
}
