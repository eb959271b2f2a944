//! The VoIPbin provider: maps `parley-voipbin` calls and models (both object shapes) onto the
//! [`Provider`] trait. VoIPbin has no companies: each account gets one synthetic company, the
//! customer behind the credentials.

use async_trait::async_trait;
use futures::StreamExt;
use parley_voipbin as vb;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::{
    DeliveryStatus, OutgoingFile, PageStream, Provider, RemoteAttachment, RemoteCompany,
    RemoteConversation, RemoteMessage, RemotePage, RemoteTeammate, SendReceipt, SendRequest,
    StartOutcome, StartRequest,
};
use crate::error::{ErrorCode, ProviderError};
use crate::secrets::Secret;

/// Page size for every listing: the largest VoIPbin serves.
const PAGE_SIZE: u32 = vb::MAX_PAGE_SIZE;

/// The company id used when the customer cannot be looked up.
const FALLBACK_COMPANY_ID: &str = "voipbin";

/// Why VoIPbin conversations have no note.
pub const NO_NOTES: &str = "VoIPbin has no notes on conversations";
/// Why VoIPbin conversations have no Bitrix switch.
pub const NO_BITRIX: &str = "VoIPbin has no Bitrix openlines (a Pact feature)";
/// Why VoIPbin sends carry no files.
pub const NO_ATTACHMENTS: &str = "VoIPbin's API sends text only; attachments are not supported";
/// Why an ordinary VoIPbin agent's login cannot list its teammates.
pub const NO_TEAMMATES_FOR_AGENTS: &str =
    "listing teammates needs a VoIPbin admin or manager login (the server answered 403); name them with labels instead";

/// A VoIPbin account's connection.
#[derive(Clone)]
pub struct VoipbinProvider {
    client: vb::VoipbinClient,
    customer: std::sync::Arc<OnceCell<RemoteCompany>>,
}

impl VoipbinProvider {
    /// Builds the client: with `username` the secret is the password, else it is the access key.
    /// `base_url` replaces the root `https://api.voipbin.net`.
    pub fn new(
        username: Option<&str>,
        secret: &Secret,
        base_url: Option<&str>,
    ) -> Result<Self, ProviderError> {
        let credentials = match username {
            Some(user) => vb::Credentials::password(user, secret.expose()),
            None => vb::Credentials::access_key(secret.expose()),
        };
        let mut builder = vb::VoipbinClient::builder(credentials)
            .user_agent(concat!("parley/", env!("CARGO_PKG_VERSION")));
        if let Some(url) = base_url {
            builder = builder.root_url(url);
        }
        let client = builder.build().map_err(map_error)?;
        Ok(Self {
            client,
            customer: Default::default(),
        })
    }

    /// The underlying client (the live watcher uses its WebSocket).
    pub fn client(&self) -> &vb::VoipbinClient {
        &self.client
    }

    /// The one synthetic company: the customer (`GET /customer`), else the customer id the
    /// conversations carry, else `voipbin`. Looked up once.
    pub async fn customer(&self) -> Result<RemoteCompany, ProviderError> {
        self.customer
            .get_or_try_init(|| self.look_up_customer())
            .await
            .cloned()
    }

    async fn look_up_customer(&self) -> Result<RemoteCompany, ProviderError> {
        match self.client.customer().await {
            Ok(customer) => {
                return Ok(RemoteCompany {
                    id: customer.id,
                    name: customer.name.filter(|name| !name.trim().is_empty()),
                })
            }
            Err(vb::Error::NotFound(_) | vb::Error::InvalidResponse { .. }) => {}
            Err(error) => return Err(map_error(error)),
        }
        let page = self
            .client
            .conversations_page(PAGE_SIZE, None)
            .await
            .map_err(map_error)?;
        let id = page
            .items
            .iter()
            .find_map(|conversation| conversation.customer_id.clone())
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| FALLBACK_COMPANY_ID.to_string());
        Ok(RemoteCompany {
            id,
            name: Some("VoIPbin".to_string()),
        })
    }
}

/// Classifies a client error. Client errors never carry the access key, password or token. A POST
/// whose answer could not be read may have reached the server too: its outcome is unknown.
pub(crate) fn map_error(error: vb::Error) -> ProviderError {
    let unreadable = matches!(error, vb::Error::InvalidResponse { .. });
    let mut mapped = super::map_error(error);
    mapped.outcome_unknown |= unreadable;
    mapped
}

fn unsupported(message: &str) -> ProviderError {
    ProviderError::new(ErrorCode::Unsupported, message)
}

/// Maps a conversation in either shape. An explicit "no owner" becomes an empty assignee, which
/// clears a cached one.
pub(crate) fn map_conversation(conversation: &vb::Conversation) -> RemoteConversation {
    let peer = conversation.peer_address();
    let assignee = match conversation.owner() {
        Some(owner) => Some(owner.to_string()),
        None if conversation.owner_id.is_some() => Some(String::new()),
        None => None,
    };
    RemoteConversation {
        id: conversation.id.clone(),
        title: Some(conversation.title()),
        channel: Some(conversation.channel().as_str().to_string()),
        channel_id: conversation.account_id.clone(),
        contact: peer
            .and_then(vb::Address::target)
            .map(str::to_string)
            .or_else(|| conversation.dialog_id.clone())
            .or_else(|| conversation.reference_id.clone()),
        avatar_url: None,
        created_at: conversation.created_at(),
        last_activity_at: conversation.last_activity(),
        assignee_id: assignee,
        note: None,
        bitrix_openlines: None,
        state: None,
        replied: None,
    }
}

/// Maps a message in either shape; a message with no readable time is refused.
pub(crate) fn map_message(message: &vb::Message) -> Result<RemoteMessage, ProviderError> {
    let created_at = message
        .created_at()
        .or_else(|| message.updated_at())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorCode::InvalidResponse,
                format!("message {} has no creation time", message.id),
            )
        })?;
    Ok(RemoteMessage {
        id: message.id.clone(),
        incoming: message.direction() == vb::Direction::Incoming,
        text: Some(message.text().to_string()).filter(|text| !text.is_empty()),
        created_at,
        attachments: message.medias.iter().map(map_media).collect(),
        ..RemoteMessage::default()
    })
}

/// A media entry, read loosely: VoIPbin documents no fixed shape for it.
fn map_media(media: &Value) -> RemoteAttachment {
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| media.get(*key).and_then(Value::as_str))
            .filter(|value| !value.trim().is_empty())
            .map(str::to_string)
    };
    RemoteAttachment {
        id: text(&["id"]),
        file_name: text(&["filename", "file_name", "name"]),
        mime_type: text(&["mime_type", "content_type"]),
        size: media.get("size").and_then(Value::as_i64),
        url: text(&["url", "link", "uri"]),
        preview_url: None,
    }
}

fn map_page<T, U>(
    page: Result<vb::Page<T>, vb::Error>,
    map: impl Fn(&T) -> Result<U, ProviderError>,
) -> Result<RemotePage<U>, ProviderError> {
    let page = page.map_err(map_error)?;
    let items = page.items.iter().map(map).collect::<Result<Vec<_>, _>>()?;
    Ok(RemotePage {
        items,
        next_cursor: page.resume_token,
    })
}

#[async_trait]
impl Provider for VoipbinProvider {
    async fn companies(&self) -> Result<Vec<RemoteCompany>, ProviderError> {
        Ok(vec![self.customer().await?])
    }

    fn conversation_pages<'a>(
        &'a self,
        _company_id: &'a str,
    ) -> PageStream<'a, RemoteConversation> {
        self.client
            .conversation_pages(PAGE_SIZE)
            .map(|page| map_page(page, |conversation| Ok(map_conversation(conversation))))
            .boxed()
    }

    fn message_pages_newest_first<'a>(
        &'a self,
        _company_id: &'a str,
        conversation_id: &'a str,
        cursor: Option<String>,
    ) -> PageStream<'a, RemoteMessage> {
        self.client
            .message_pages_from(conversation_id, PAGE_SIZE, cursor)
            .map(|page| map_page(page, map_message))
            .boxed()
    }

    async fn upload_attachment(
        &self,
        _company_id: &str,
        _conversation_id: &str,
        _file: OutgoingFile,
    ) -> Result<String, ProviderError> {
        Err(unsupported(NO_ATTACHMENTS))
    }

    /// Asks the legacy setup for an empty channel: a server that has it refuses the request as
    /// invalid (and sets nothing up), one without it answers 404.
    async fn start_unavailable(&self) -> Result<Option<String>, ProviderError> {
        match self.client.setup_conversation("").await {
            Err(vb::Error::Unsupported { message }) => Ok(Some(format!(
                "{message}; on this server conversations start when the customer writes"
            ))),
            Ok(_) | Err(vb::Error::Validation { .. }) => Ok(None),
            Err(error) => Err(map_error(error)),
        }
    }

    /// The legacy `POST /conversations/setup`, where the server still answers it (the current
    /// API opens conversations from the customer's side and answers 404: `unsupported`).
    async fn start_conversation(
        &self,
        _company_id: &str,
        request: &StartRequest,
        _text: Option<&str>,
    ) -> Result<StartOutcome, ProviderError> {
        let conversation = self
            .client
            .setup_conversation(&request.channel)
            .await
            .map_err(map_error)?
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorCode::InvalidResponse,
                    "VoIPbin set the conversation up but did not return it; it appears with the next sync",
                )
            })?;
        Ok(StartOutcome {
            conversation: map_conversation(&conversation),
            sent: None,
        })
    }

    async fn send_message(
        &self,
        _company_id: &str,
        conversation_id: &str,
        message: SendRequest<'_>,
    ) -> Result<SendReceipt, ProviderError> {
        if !message.attachment_ids.is_empty() {
            return Err(unsupported(NO_ATTACHMENTS));
        }
        let text = message
            .text
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| {
                ProviderError::new(ErrorCode::InvalidInput, "VoIPbin messages need a text")
            })?;
        let message = self
            .client
            .send_text(conversation_id, text)
            .await
            .map_err(map_error)?;
        // The server answers with the stored message: that is final, there is no job to follow.
        Ok(SendReceipt {
            job_id: None,
            channel_id: None,
            message_id: Some(message.id),
            status: None,
        })
    }

    async fn delivery_status(
        &self,
        _company_id: &str,
        _conversation_id: &str,
        receipt: &SendReceipt,
    ) -> Result<DeliveryStatus, ProviderError> {
        Ok(DeliveryStatus::Delivered(receipt.message_id.clone()))
    }

    async fn assign(
        &self,
        _company_id: &str,
        conversation_id: &str,
        assignee_id: &str,
    ) -> Result<(), ProviderError> {
        if assignee_id.trim().is_empty() || assignee_id == vb::NIL_UUID {
            return Err(ProviderError::new(
                ErrorCode::InvalidInput,
                "give an agent id to assign to (use unassign to clear)",
            ));
        }
        self.client
            .assign_conversation(conversation_id, assignee_id)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn unassign(
        &self,
        _company_id: &str,
        conversation_id: &str,
    ) -> Result<(), ProviderError> {
        self.client
            .unassign_conversation(conversation_id)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn set_note(
        &self,
        _company_id: &str,
        _conversation_id: &str,
        _note: &str,
    ) -> Result<(), ProviderError> {
        Err(unsupported(NO_NOTES))
    }

    /// The customer's agents (deleted ones left out), by `name`, else `username`, else id. Needs
    /// an admin or manager login: an ordinary agent's 403 is `forbidden`, saying so.
    async fn teammates(&self) -> Result<Vec<RemoteTeammate>, ProviderError> {
        let mut teammates = Vec::new();
        let mut pages = std::pin::pin!(self.client.agent_pages(PAGE_SIZE));
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| match error {
                vb::Error::PermissionDenied(_) => {
                    ProviderError::new(ErrorCode::Forbidden, NO_TEAMMATES_FOR_AGENTS)
                }
                error => map_error(error),
            })?;
            teammates.extend(
                page.items
                    .iter()
                    .filter(|agent| !agent.is_deleted())
                    .map(|agent| RemoteTeammate {
                        id: agent.id.clone(),
                        name: agent.display_name().unwrap_or(&agent.id).to_string(),
                    }),
            );
        }
        Ok(teammates)
    }

    async fn set_bitrix_openlines(
        &self,
        _company_id: &str,
        _conversation_id: &str,
        _enabled: bool,
    ) -> Result<(), ProviderError> {
        Err(unsupported(NO_BITRIX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(json: &str) -> vb::Conversation {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn legacy_and_current_conversations_map_alike() {
        let legacy = map_conversation(&conversation(
            r#"{"id":"c1","reference_type":"line","reference_id":"U1",
                "participants":[{"type":"line","target":""},{"type":"line","target":"U1","target_name":"Mia"}],
                "tm_create":"2022-06-17 06:06:14.446158","tm_update":"9999-01-01 00:00:00.000000"}"#,
        ));
        assert_eq!(legacy.title.as_deref(), Some("Mia"));
        assert_eq!(legacy.channel.as_deref(), Some("line"));
        assert_eq!(legacy.contact.as_deref(), Some("U1"));
        assert_eq!(legacy.assignee_id, None);
        // "Never updated" falls back to the creation time.
        assert_eq!(legacy.last_activity_at, legacy.created_at);
        assert!(legacy.created_at.is_some());

        let current = map_conversation(&conversation(
            r#"{"id":"c2","type":"message","peer":{"type":"tel","target":"+15550001"},
                "owner_id":"00000000-0000-0000-0000-000000000000",
                "tm_create":"2026-04-30T10:00:00Z","tm_update":null}"#,
        ));
        assert_eq!(current.title.as_deref(), Some("+15550001"));
        assert_eq!(current.channel.as_deref(), Some("sms"));
        assert_eq!(current.assignee_id.as_deref(), Some(""), "nil owner clears");
    }

    #[test]
    fn message_directions_in_both_shapes() {
        let message = |json: &str| map_message(&serde_json::from_str(json).unwrap()).unwrap();
        let legacy_ours = message(
            r#"{"id":"m1","source_target":"","text":"hi","tm_create":"2022-06-17 06:06:14"}"#,
        );
        let legacy_theirs = message(
            r#"{"id":"m2","source_target":"U1","text":"yo","tm_create":"2022-06-17 06:06:15"}"#,
        );
        let current = message(
            r#"{"id":"m3","direction":"incoming","text":"","tm_create":"2026-04-30T10:00:00Z"}"#,
        );
        assert!(!legacy_ours.incoming);
        assert!(legacy_theirs.incoming);
        assert!(current.incoming);
        assert_eq!(current.text, None);
        assert!(
            map_message(&serde_json::from_str(r#"{"id":"m4","tm_create":null}"#).unwrap()).is_err()
        );
    }
}
