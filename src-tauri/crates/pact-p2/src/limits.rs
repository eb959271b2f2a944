//! The documented p2 rate limits (per token and endpoint, `content/en/v2/rate-limits.md` and the
//! upload page) as [`Bucket`]s. The names are stable: budgets that persist their records key them
//! by name, so renaming one forgets its history.

use parley_http::{Bucket, Limit};

const TEN_A_MINUTE: &[Limit] = &[Limit::per_minute(10)];
const TWENTY_A_MINUTE: &[Limit] = &[Limit::per_minute(20)];
const FIVE_A_SECOND_THIRTY_A_MINUTE: &[Limit] = &[Limit::per_second(5), Limit::per_minute(30)];

/// `GET conversations`: 10 per minute.
pub const LIST_CONVERSATIONS: Bucket = Bucket::fixed("pact-p2 list conversations", TEN_A_MINUTE);
/// `GET conversations/{id}`: 10 per minute.
pub const GET_CONVERSATION: Bucket = Bucket::fixed("pact-p2 get conversation", TEN_A_MINUTE);
/// `GET conversations/{id}/messages`: 20 per minute.
pub const LIST_MESSAGES: Bucket = Bucket::fixed("pact-p2 list messages", TWENTY_A_MINUTE);
/// `GET conversations/{id}/messages/{id}`: 20 per minute.
pub const GET_MESSAGE: Bucket = Bucket::fixed("pact-p2 get message", TWENTY_A_MINUTE);
/// `POST conversations/{id}/messages`: 5 per second and 30 per minute.
pub const SEND_MESSAGE: Bucket =
    Bucket::fixed("pact-p2 send message", FIVE_A_SECOND_THIRTY_A_MINUTE);
/// `POST messages` (write first): 5 per second and 30 per minute.
pub const WRITE_FIRST: Bucket = Bucket::fixed("pact-p2 write first", FIVE_A_SECOND_THIRTY_A_MINUTE);
/// `POST attachments`: 5 files per second and 30 per minute.
pub const UPLOAD_ATTACHMENT: Bucket =
    Bucket::fixed("pact-p2 upload attachment", FIVE_A_SECOND_THIRTY_A_MINUTE);
/// `GET waba_templates`: 20 per minute.
pub const WABA_TEMPLATES: Bucket = Bucket::fixed("pact-p2 waba templates", TWENTY_A_MINUTE);
/// `PUT conversations/{id}` and `DELETE conversations/{id}/messages`: no documented limit.
pub const UNLIMITED: Bucket = Bucket::fixed("pact-p2 unlimited", &[]);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_carry_the_documented_limits() {
        assert_eq!(LIST_CONVERSATIONS.name, "pact-p2 list conversations");
        assert_eq!(LIST_CONVERSATIONS.limits[..], [Limit::per_minute(10)]);
        assert_eq!(GET_MESSAGE.limits[..], [Limit::per_minute(20)]);
        // The documented minute, kept with the budget's margin.
        assert_eq!(
            SEND_MESSAGE.longest_window(),
            Limit::per_minute(30).guarded_window()
        );
        assert!(SEND_MESSAGE.longest_window() >= Duration::from_secs(60));
        assert_eq!(SEND_MESSAGE.limits.len(), 2);
        assert!(UNLIMITED.limits.is_empty());
        let all = [
            &LIST_CONVERSATIONS,
            &GET_CONVERSATION,
            &LIST_MESSAGES,
            &GET_MESSAGE,
            &SEND_MESSAGE,
            &WRITE_FIRST,
            &UPLOAD_ATTACHMENT,
            &WABA_TEMPLATES,
            &UNLIMITED,
        ];
        let mut names: Vec<_> = all.iter().map(|bucket| bucket.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len(), "bucket names are distinct");
    }
}
