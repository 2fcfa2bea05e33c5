//! Sending mail over SMTP (lettre): a bounded queue and one task, owned by the server's task
//! tracker, that delivers it; at shutdown what is queued is still sent (each send bounded by
//! the transport's timeout). Requests only queue: a slow or dead mail server never holds one up.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use web::mail::{Mail, Outbox};

/// Mail waiting to be sent; beyond this, new mail is dropped (and logged).
const QUEUE: usize = 256;
/// One delivery's limit, connection included.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// The SMTP outbox.
pub struct SmtpOutbox {
    queue: mpsc::Sender<Mail>,
}

impl SmtpOutbox {
    /// Starts the sender for `url` (`smtp://`, `smtps://`, see lettre's `from_url`) with `from`
    /// as the sender. A malformed URL or address is a configuration error.
    pub fn start(url: &str, from: &str, tasks: &TaskTracker, shutdown: CancellationToken) -> Result<SmtpOutbox, String> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| format!("SMTP_URL: {e}"))?.timeout(Some(SEND_TIMEOUT)).build();
        let from: Mailbox = from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
        let (queue, mut waiting) = mpsc::channel::<Mail>(QUEUE);
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    mail = waiting.recv() => match mail {
                        Some(mail) => deliver(&transport, &from, mail).await,
                        None => break,
                    },
                    _ = shutdown.cancelled() => {
                        // Nothing new is taken; what is queued still goes out.
                        waiting.close();
                        while let Some(mail) = waiting.recv().await {
                            deliver(&transport, &from, mail).await;
                        }
                        break;
                    }
                }
            }
        });
        Ok(SmtpOutbox { queue })
    }
}

async fn deliver(transport: &AsyncSmtpTransport<Tokio1Executor>, from: &Mailbox, mail: Mail) {
    let to: Mailbox = match mail.to.parse() {
        Ok(to) => to,
        Err(e) => {
            tracing::warn!(to = %mail.to, error = %e, "mail not sent: not an address");
            return;
        }
    };
    let message = match Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(mail.text)
    {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "mail not sent: could not build it");
            return;
        }
    };
    match transport.send(message).await {
        Ok(_) => tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent"),
        Err(e) => tracing::error!(to = %mail.to, subject = %mail.subject, error = %e, "mail not sent"),
    }
}

impl Outbox for SmtpOutbox {
    fn delivers(&self) -> bool {
        true
    }

    fn post(&self, mail: Mail) {
        if let Err(e) = self.queue.try_send(mail) {
            tracing::error!(error = %e, "mail not sent: the outbox is full or closed");
        }
    }
}
