//! A real SMTP server for tests: it speaks enough of RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT) for a client to deliver, keeps every message, and lets the test wait for
//! the next one. No TLS, no authentication: the server under test is pointed at it with
//! `SMTP_URL=smtp://127.0.0.1:PORT`.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One delivered message.
#[derive(Clone, Debug)]
pub struct SunkMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers, blank line, body), dot-stuffing undone.
    pub data: String,
}

impl SunkMail {
    /// A header's value (the first of that name).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
    }

    /// The body (after the headers), decoded as a mail client would (quoted-printable or
    /// base64, as its Content-Transfer-Encoding says).
    pub fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        match self.header("Content-Transfer-Encoding").map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("quoted-printable") => quoted_printable(&raw),
            Some("base64") => {
                use base64::Engine;
                let compact: String = raw.split_whitespace().collect();
                String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default()).into_owned()
            }
            _ => raw,
        }
    }

    /// The first `http(s)://` link in the body that contains `part`.
    pub fn link(&self, part: &str) -> Option<String> {
        self.body().split_whitespace().find(|w| w.starts_with("http") && w.contains(part)).map(str::to_owned)
    }
}

/// The running sink.
pub struct SmtpSink {
    pub port: u16,
    inbox: mpsc::UnboundedReceiver<SunkMail>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, inbox) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, tx.clone()));
            }
        });
        SmtpSink { port, inbox, task }
    }

    /// `SMTP_URL` for the server under test.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next message, if one arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SunkMail> {
        tokio::time::timeout(wait, self.inbox.recv()).await.ok().flatten()
    }

    /// Asserts no message arrives within `wait`.
    pub async fn expect_none(&mut self, wait: Duration) {
        if let Some(mail) = self.next(wait).await {
            panic!("no mail expected, got one to {:?}: {}", mail.to, mail.header("Subject").unwrap_or_default());
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: tokio::net::TcpStream, inbox: mpsc::UnboundedSender<SunkMail>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 sink ESMTP ready\r\n").await;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&line));
            b"250 ok\r\n"
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            b"250 ok\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
            let mut data = Vec::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push(l.strip_prefix('.').map(str::to_owned).filter(|_| l.starts_with("..")).unwrap_or(l));
            }
            let _ = inbox.send(SunkMail { from: from.clone(), to: to.clone(), data: data.join("\r\n") });
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The address in `MAIL FROM:<a@b>` / `RCPT TO:<a@b>`.
fn address(line: &str) -> String {
    line.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map(|(a, _)| a.to_owned()).unwrap_or_default()
}

/// RFC 2045 quoted-printable: soft line breaks joined, `=XX` decoded.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
