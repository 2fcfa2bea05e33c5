//! A fake of Twilio's Content API: answers the items a test gives it, for any account, and
//! counts the calls.

use crate::ports::{ContentApi, ContentApiError, ContentItem};
use async_trait::async_trait;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
pub struct FakeContentApi {
    items: Mutex<Vec<ContentItem>>,
    calls: AtomicUsize,
}

impl FakeContentApi {
    /// The items every later `list` answers.
    pub fn set(&self, items: Vec<ContentItem>) {
        *self.items.lock().unwrap_or_else(|e| e.into_inner()) = items;
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl ContentApi for FakeContentApi {
    async fn list(&self, _account_sid: &str, _auth_token: &secrecy::SecretString) -> Result<Vec<ContentItem>, ContentApiError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(self.items.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}
