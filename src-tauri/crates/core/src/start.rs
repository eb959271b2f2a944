//! Starting a conversation with a contact: the messengers each provider can open, checking and
//! normalising the contact (phone numbers with the `phonenumber` crate), opening an existing
//! conversation instead of a second one, and the placeholder conversation whose first message the
//! outbox sends (see `outbox::start_entry`).

use serde::Serialize;

use crate::error::{CoreError, ErrorCode, ProviderError, Result};
use crate::model::{Account, ConversationRef, ConversationView, ProviderKind};
use crate::provider::{RemoteTemplate, StartContact, StartRequest};
use crate::store::{CachedCompany, NewOutboxEntry, NewStartedConversation};
use crate::{Outgoing, Parley};

/// The prefix of a conversation id that is not on the server yet.
pub const PLACEHOLDER_PREFIX: &str = "new-";

/// The settings key prefix remembering whether an account's server can start conversations.
const START_PROBE_KEY: &str = "start_probe.";
/// How a remembered "cannot" starts; the reason follows.
const UNAVAILABLE_MARK: &str = "unavailable: ";

/// The longest first message accepted (messengers cap texts at about 4,096 characters).
const MAX_FIRST_TEXT_CHARS: usize = 4096;

/// What the agent asks for to start a conversation.
#[derive(Debug, Clone, Default)]
pub struct NewConversation {
    /// The account's name.
    pub account: String,
    /// The company (provider id); may be left out when the account has one.
    pub company_id: Option<String>,
    /// The messenger: `whatsapp`, `telegram_personal`, `max`, `vkontakte_direct`,
    /// `whatsapp_business` (Pact) or `line` (VoIPbin's legacy setup).
    pub channel: String,
    /// The contact's phone number, in international form (`+7 925 000-00-01`).
    pub phone: Option<String>,
    /// The contact's username (Telegram), or VK id or short name.
    pub username: Option<String>,
    /// The first message.
    pub text: Option<String>,
    /// A WABA template id (`whatsapp_business`).
    pub template: Option<String>,
    /// The template's substitutions, in order.
    pub template_vars: Vec<String>,
}

/// What starting gave: the conversation to open, and the outbox entry of the first message.
#[derive(Debug, Clone, Serialize)]
pub struct StartedConversation {
    /// The conversation; its id is a placeholder (`new-…`) until the outbox has opened it on the
    /// server (see [`Parley::resolve_conversation`]).
    pub conversation: ConversationView,
    /// The outbox entry carrying the first message, if there is one.
    pub outbox_id: Option<i64>,
    /// True when the contact already had a conversation, which was opened instead.
    pub existing: bool,
}

/// A company a conversation can be started in.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyChoice {
    /// The provider's id.
    pub id: String,
    /// Its name, when known.
    pub name: Option<String>,
}

/// A messenger a conversation can be started on, and what its first message needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelChoice {
    /// The messenger's name (`whatsapp`, `telegram_personal`, ...).
    pub name: &'static str,
    /// True when the contact can be given by phone number.
    pub phone: bool,
    /// True when the contact can be given by username (or VK id).
    pub username: bool,
    /// True when the first message must have a text.
    pub text_required: bool,
    /// True when the first message is a WABA template instead of a text.
    pub template: bool,
}

impl From<&ChannelRule> for ChannelChoice {
    fn from(rule: &ChannelRule) -> Self {
        Self {
            name: rule.channel,
            phone: rule.phone,
            username: rule.username,
            text_required: rule.text_required,
            template: rule.template,
        }
    }
}

/// What the "New conversation" dialog offers for one account.
#[derive(Debug, Clone, Serialize)]
pub struct StartOption {
    /// The account's name.
    pub account: String,
    /// Its provider.
    pub provider: ProviderKind,
    /// Its companies.
    pub companies: Vec<CompanyChoice>,
    /// The messengers it can start conversations on (empty when it cannot).
    pub channels: Vec<ChannelChoice>,
    /// Why it cannot start one, if it cannot.
    pub reason: Option<String>,
}

/// How a messenger addresses the contact and what the first message needs.
#[derive(Debug, Clone, Copy)]
struct ChannelRule {
    channel: &'static str,
    phone: bool,
    username: bool,
    text_required: bool,
    template: bool,
}

const fn rule(channel: &'static str, phone: bool, username: bool) -> ChannelRule {
    ChannelRule {
        channel,
        phone,
        username,
        text_required: true,
        template: false,
    }
}

/// Pact p2 writes first with a message (text, or a template for WhatsApp Business).
const PACT_CHANNELS: &[ChannelRule] = &[
    rule("whatsapp", true, false),
    rule("telegram_personal", true, true),
    rule("max", true, false),
    rule("vkontakte_direct", false, true),
    ChannelRule {
        channel: "whatsapp_business",
        phone: true,
        username: false,
        text_required: false,
        template: true,
    },
];

/// Pact p1 opens WhatsApp without a message and Telegram only with one.
const PACT_P1_CHANNELS: &[ChannelRule] = &[
    ChannelRule {
        text_required: false,
        ..rule("whatsapp", true, false)
    },
    rule("telegram_personal", true, true),
];

/// VoIPbin's legacy setup opens the LINE channel; it addresses no contact.
const VOIPBIN_CHANNELS: &[ChannelRule] = &[ChannelRule {
    text_required: false,
    ..rule("line", false, false)
}];

fn channel_rules(kind: ProviderKind) -> &'static [ChannelRule] {
    match kind {
        ProviderKind::Pact => PACT_CHANNELS,
        ProviderKind::PactP1 => PACT_P1_CHANNELS,
        ProviderKind::Voipbin => VOIPBIN_CHANNELS,
    }
}

fn channel_rule(kind: ProviderKind, channel: &str) -> Result<ChannelRule> {
    let rules = channel_rules(kind);
    rules
        .iter()
        .find(|rule| rule.channel == channel.trim())
        .copied()
        .ok_or_else(|| {
            let known: Vec<&str> = rules.iter().map(|rule| rule.channel).collect();
            CoreError::InvalidInput(format!(
                "a {} account cannot start a conversation on \"{}\" (it can on: {})",
                kind.as_str(),
                channel.trim(),
                known.join(", ")
            ))
        })
}

impl Parley {
    /// Per account: the companies and messengers a conversation can be started in, or why not.
    pub async fn start_options(&self) -> Result<Vec<StartOption>> {
        let mut options = Vec::new();
        for account in self.store.accounts().await? {
            let companies = self.store.account_companies(account.id).await?;
            let reason = match self.store.start_refused(account.id).await? {
                Some(refusal) => Some(refusal),
                None if companies.is_empty() => {
                    Some("the account's companies are not known yet; sync it first".to_string())
                }
                None => match account.features.start.reason {
                    Some(reason) => Some(reason.to_string()),
                    None => self.start_unavailable(&account).await?,
                },
            };
            let channels = if reason.is_some() {
                Vec::new()
            } else {
                channel_rules(account.provider)
                    .iter()
                    .map(ChannelChoice::from)
                    .collect()
            };
            options.push(StartOption {
                account: account.name.clone(),
                provider: account.provider,
                companies: companies
                    .into_iter()
                    .map(|company| CompanyChoice {
                        id: company.provider_id,
                        name: company.name,
                    })
                    .collect(),
                channels,
                reason,
            });
        }
        Ok(options)
    }

    /// Starts a conversation: checks the contact and the first message, opens the contact's
    /// existing conversation when the cache has one (queueing the text there), or writes a
    /// placeholder conversation whose first outbox entry opens it on the server. Nothing goes
    /// over the network here: see [`Parley::process_outbox`].
    pub async fn start_conversation(&self, new: NewConversation) -> Result<StartedConversation> {
        let account = self.store.account(&new.account).await?;
        if let Some(refusal) = self.store.start_refused(account.id).await? {
            return Err(CoreError::provider(
                &account.name,
                ProviderError::new(ErrorCode::Unsupported, refusal),
            ));
        }
        if let Some(reason) = self.start_unavailable(&account).await? {
            return Err(CoreError::provider(
                &account.name,
                ProviderError::new(ErrorCode::Unsupported, reason),
            ));
        }
        let rule = channel_rule(account.provider, &new.channel)?;
        let contact = contact_of(&rule, new.phone.as_deref(), new.username.as_deref())?;
        let text = new.text.clone().filter(|text| !text.trim().is_empty());
        let request = StartRequest {
            channel: rule.channel.to_string(),
            contact: contact.clone(),
            template: new.template.clone().filter(|id| !id.trim().is_empty()),
            template_vars: new.template_vars.clone(),
        };
        check_first_message(&rule, text.as_deref(), &request)?;
        let companies = self.store.account_companies(account.id).await?;
        let company = pick_company(&account, &companies, new.company_id.as_deref())?;
        if request.template.is_none() {
            let existing = match &contact {
                Some(contact) => {
                    self.store
                        .conversation_with_contact(
                            account.id,
                            company.id,
                            rule.channel,
                            contact.handle(),
                        )
                        .await?
                }
                None => None,
            };
            if let Some(existing) = existing {
                return self.continue_existing(&account, existing, text).await;
            }
        }
        let placeholder_id = format!("{PLACEHOLDER_PREFIX}{:016x}", rand::random::<u64>());
        let started = NewStartedConversation {
            company_id: company.id,
            placeholder_id: placeholder_id.clone(),
            channel: rule.channel.to_string(),
            contact: contact
                .as_ref()
                .map_or_else(String::new, |c| c.handle().to_string()),
            title: contact
                .as_ref()
                .map_or_else(|| rule.channel.to_string(), display_contact),
        };
        let entry = NewOutboxEntry {
            account_id: account.id,
            conversation_id: 0,
            text,
            files: Vec::new(),
            reply_to: None,
            start: Some(request),
        };
        let outbox_id = self
            .store
            .insert_started_conversation(account.id, &started, &entry)
            .await?;
        Ok(StartedConversation {
            conversation: self
                .store
                .conversation_view(&account.name, &placeholder_id)
                .await?,
            outbox_id: Some(outbox_id),
            existing: false,
        })
    }

    /// The conversation as it is now: for a placeholder (`new-…`) the conversation the outbox
    /// opened on the server, once it has; otherwise the conversation itself.
    pub async fn resolve_conversation(
        &self,
        conversation: &ConversationRef,
    ) -> Result<ConversationView> {
        let account = self.store.account(&conversation.account).await?;
        let id = match self
            .store
            .started_conversation(account.id, &conversation.id)
            .await?
        {
            Some(real) => real,
            None => conversation.id.clone(),
        };
        self.store.conversation_view(&account.name, &id).await
    }

    /// The WhatsApp Business templates a first message in this company can use.
    pub async fn templates(&self, account: &str, company_id: &str) -> Result<Vec<RemoteTemplate>> {
        let account = self.store.account(account).await?;
        let provider = self.provider(&account).await?;
        provider
            .templates(company_id)
            .await
            .map_err(|error| CoreError::provider(&account.name, error))
    }

    /// Why the account's server cannot start conversations, asked once and remembered (a server
    /// that cannot be reached now says nothing, and is asked again next time).
    async fn start_unavailable(&self, account: &Account) -> Result<Option<String>> {
        let key = format!("{START_PROBE_KEY}{}", account.name);
        if let Some(verdict) = self.setting(&key).await? {
            return Ok(verdict.strip_prefix(UNAVAILABLE_MARK).map(str::to_string));
        }
        let Ok(provider) = self.provider(account).await else {
            return Ok(None);
        };
        match provider.start_unavailable().await {
            Ok(verdict) => {
                let stored = verdict.as_ref().map_or_else(
                    || "available".to_string(),
                    |why| format!("{UNAVAILABLE_MARK}{why}"),
                );
                self.set_setting(&key, &stored).await?;
                Ok(verdict)
            }
            Err(_) => Ok(None),
        }
    }

    async fn continue_existing(
        &self,
        account: &Account,
        provider_id: String,
        text: Option<String>,
    ) -> Result<StartedConversation> {
        let conversation = ConversationRef {
            account: account.name.clone(),
            id: provider_id,
        };
        let outbox_id = match text {
            Some(text) => Some(
                self.queue_send(
                    &conversation,
                    Outgoing {
                        text: Some(text),
                        ..Outgoing::default()
                    },
                )
                .await?,
            ),
            None => None,
        };
        Ok(StartedConversation {
            conversation: self
                .store
                .conversation_view(&account.name, &conversation.id)
                .await?,
            outbox_id,
            existing: true,
        })
    }
}

/// The contact from the phone or username the agent gave, as the messenger needs it.
fn contact_of(
    rule: &ChannelRule,
    phone: Option<&str>,
    username: Option<&str>,
) -> Result<Option<StartContact>> {
    let phone = phone.map(str::trim).filter(|phone| !phone.is_empty());
    let username = username.map(str::trim).filter(|name| !name.is_empty());
    match (phone, username) {
        (Some(_), Some(_)) => Err(CoreError::InvalidInput(
            "give either a phone number or a username, not both".to_string(),
        )),
        (Some(phone), None) if rule.phone => Ok(Some(StartContact::Phone(normalise_phone(phone)?))),
        (None, Some(name)) if rule.username => Ok(Some(StartContact::Username(
            normalise_username(rule.channel, name)?,
        ))),
        (None, None) if !rule.phone && !rule.username => Ok(None),
        (Some(_), None) | (None, Some(_)) | (None, None) => {
            Err(CoreError::InvalidInput(contact_needed(rule)))
        }
    }
}

fn contact_needed(rule: &ChannelRule) -> String {
    match (rule.phone, rule.username) {
        (true, true) => format!("{} needs a phone number or a username", rule.channel),
        (true, false) => format!("{} is reached by phone number: give --phone", rule.channel),
        (false, true) => format!(
            "{} is reached by username or id: give --username",
            rule.channel
        ),
        (false, false) => format!(
            "{} addresses no contact: leave phone and username out",
            rule.channel
        ),
    }
}

fn check_first_message(
    rule: &ChannelRule,
    text: Option<&str>,
    request: &StartRequest,
) -> Result<()> {
    if let Some(text) = text {
        if text.chars().count() > MAX_FIRST_TEXT_CHARS {
            return Err(CoreError::InvalidInput(format!(
                "the first message is longer than {MAX_FIRST_TEXT_CHARS} characters"
            )));
        }
    }
    match (rule.template, &request.template) {
        (true, None) => Err(CoreError::InvalidInput(format!(
            "{} opens only with a WABA template: give --template",
            rule.channel
        ))),
        (true, Some(_)) if text.is_some() => Err(CoreError::InvalidInput(
            "a WABA template is the whole first message: leave the text out".to_string(),
        )),
        (false, Some(_)) => Err(CoreError::InvalidInput(format!(
            "templates are for whatsapp_business, not {}",
            rule.channel
        ))),
        (false, None) if rule.text_required && text.is_none() => Err(CoreError::InvalidInput(
            format!("{} opens with a first message: give --text", rule.channel),
        )),
        _ => Ok(()),
    }
}

fn pick_company<'a>(
    account: &Account,
    companies: &'a [CachedCompany],
    wanted: Option<&str>,
) -> Result<&'a CachedCompany> {
    let listing = || {
        companies
            .iter()
            .map(|company| match &company.name {
                Some(name) => format!("{} ({name})", company.provider_id),
                None => company.provider_id.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (wanted.map(str::trim), companies) {
        (_, []) => Err(CoreError::InvalidInput(format!(
            "the companies of {} are not known yet; sync it first",
            account.name
        ))),
        (None, [only]) => Ok(only),
        (None, _) => Err(CoreError::InvalidInput(format!(
            "{} has several companies; choose one with --company-id: {}",
            account.name,
            listing()
        ))),
        (Some(id), _) => companies
            .iter()
            .find(|company| company.provider_id == id)
            .ok_or_else(|| {
                CoreError::InvalidInput(format!(
                    "{} has no company {id}; it has: {}",
                    account.name,
                    listing()
                ))
            }),
    }
}

/// True when two contact handles name the same person: phone numbers by their digits, usernames
/// without `@` and case.
pub fn same_handle(stored: &str, handle: &str) -> bool {
    let digits = |text: &str| -> String { text.chars().filter(char::is_ascii_digit).collect() };
    let looks_like_phone = |text: &str| {
        text.chars()
            .all(|c| c.is_ascii_digit() || "+-() ".contains(c))
    };
    if looks_like_phone(stored) && looks_like_phone(handle) {
        let (a, b) = (digits(stored), digits(handle));
        return !a.is_empty() && a == b;
    }
    stored
        .trim()
        .trim_start_matches('@')
        .eq_ignore_ascii_case(handle.trim().trim_start_matches('@'))
}

/// Checks a phone number and returns it as Pact stores it: the digits with the country code.
/// National forms without a country code are refused, since nothing says which country they
/// belong to.
pub fn normalise_phone(input: &str) -> Result<String> {
    parse_phone(input).map(|number| {
        number
            .format()
            .mode(phonenumber::Mode::E164)
            .to_string()
            .trim_start_matches('+')
            .to_string()
    })
}

fn parse_phone(input: &str) -> Result<phonenumber::PhoneNumber> {
    let trimmed = input.trim();
    if let Some(bad) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_digit() || " +-().".contains(*c)))
    {
        return Err(CoreError::InvalidInput(format!(
            "\"{trimmed}\" is not a phone number: it contains \"{bad}\""
        )));
    }
    let international = if let Some(rest) = trimmed.strip_prefix("00") {
        format!("+{rest}")
    } else if trimmed.starts_with('+') {
        trimmed.to_string()
    } else {
        format!("+{trimmed}")
    };
    let example = "write it with the country code, like +7 925 000-00-01";
    let number = phonenumber::parse(None, &international).map_err(|error| {
        CoreError::InvalidInput(format!(
            "\"{trimmed}\" is not a phone number ({error}); {example}"
        ))
    })?;
    if !phonenumber::is_valid(&number) {
        return Err(CoreError::InvalidInput(format!(
            "\"{trimmed}\" is not a valid phone number for country code +{}; {example}",
            number.code().value()
        )));
    }
    Ok(number)
}

/// A username as the messenger takes it: Telegram's 5–32 letters, digits and underscores; VK's
/// numeric id or short name.
fn normalise_username(channel: &str, input: &str) -> Result<String> {
    let name = input.trim().trim_start_matches('@');
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let valid = match channel {
        "vkontakte_direct" => {
            (1..=64).contains(&name.len()) && name.chars().all(|c| word(c) || c == '.')
        }
        _ => {
            (5..=32).contains(&name.len())
                && name.chars().all(word)
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
        }
    };
    if valid {
        Ok(name.to_string())
    } else if channel == "vkontakte_direct" {
        Err(CoreError::InvalidInput(format!(
            "\"{input}\" is not a VK id or short name (letters, digits, _ and .)"
        )))
    } else {
        Err(CoreError::InvalidInput(format!(
            "\"{input}\" is not a Telegram username: 5 to 32 letters, digits or _, starting with a letter"
        )))
    }
}

/// How the contact is shown until the server names the conversation.
fn display_contact(contact: &StartContact) -> String {
    match contact {
        StartContact::Phone(digits) => parse_phone(digits).map_or_else(
            |_| format!("+{digits}"),
            |number| {
                number
                    .format()
                    .mode(phonenumber::Mode::International)
                    .to_string()
            },
        ),
        StartContact::Username(name) => format!("@{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_compare_as_people_write_them() {
        assert!(same_handle("+7 (925) 000-00-01", "79250000001"));
        assert!(same_handle("@Olga_K", "olga_k"));
        assert!(!same_handle("79250000001", "79250000002"));
        assert!(!same_handle("olga", "olga_k"));
        assert!(!same_handle("", ""));
    }

    #[test]
    fn phone_numbers_are_normalised_to_digits_with_the_country_code() {
        for written in [
            "+7 925 000-00-01",
            "79250000001",
            "007 (925) 000 00 01",
            " +7.925.000.00.01 ",
        ] {
            assert_eq!(
                normalise_phone(written).unwrap(),
                "79250000001",
                "{written}"
            );
        }
        assert_eq!(normalise_phone("+44 20 7946 0958").unwrap(), "442079460958");
    }

    #[test]
    fn wrong_phone_numbers_say_what_is_wrong() {
        let message = |written: &str| normalise_phone(written).unwrap_err().to_string();
        assert!(message("+7 925 abc").contains("contains \"a\""));
        assert!(message("12").contains("country code"));
        assert!(message("+7 925").contains("not a valid phone number"));
        assert!(message("").contains("not a phone number"));
    }

    #[test]
    fn usernames_follow_the_messenger() {
        assert_eq!(
            normalise_username("telegram_personal", "@Olga_K").unwrap(),
            "Olga_K"
        );
        assert!(normalise_username("telegram_personal", "ab").is_err());
        assert!(normalise_username("telegram_personal", "1olga").is_err());
        assert_eq!(
            normalise_username("vkontakte_direct", "12345").unwrap(),
            "12345"
        );
        assert_eq!(
            normalise_username("vkontakte_direct", "durov.p").unwrap(),
            "durov.p"
        );
    }

    #[test]
    fn each_messenger_takes_its_kind_of_contact() {
        let whatsapp = channel_rule(ProviderKind::Pact, "whatsapp").unwrap();
        assert!(contact_of(&whatsapp, None, Some("olga_k")).is_err());
        assert!(contact_of(&whatsapp, Some("+79250000001"), Some("olga_k")).is_err());
        let telegram = channel_rule(ProviderKind::PactP1, "telegram_personal").unwrap();
        assert_eq!(
            contact_of(&telegram, None, Some("@olga_k")).unwrap(),
            Some(StartContact::Username("olga_k".to_string()))
        );
        assert!(channel_rule(ProviderKind::PactP1, "max").is_err());
        assert!(channel_rule(ProviderKind::Voipbin, "whatsapp").is_err());
    }

    #[test]
    fn the_first_message_fits_the_messenger() {
        let request = |template: Option<&str>| StartRequest {
            channel: "x".into(),
            contact: Some(StartContact::Phone("1".into())),
            template: template.map(str::to_string),
            template_vars: Vec::new(),
        };
        let telegram = channel_rule(ProviderKind::PactP1, "telegram_personal").unwrap();
        assert!(check_first_message(&telegram, None, &request(None)).is_err());
        let p1_whatsapp = channel_rule(ProviderKind::PactP1, "whatsapp").unwrap();
        assert!(check_first_message(&p1_whatsapp, None, &request(None)).is_ok());
        let business = channel_rule(ProviderKind::Pact, "whatsapp_business").unwrap();
        assert!(check_first_message(&business, None, &request(None)).is_err());
        assert!(check_first_message(&business, None, &request(Some("t1"))).is_ok());
        assert!(check_first_message(&business, Some("hi"), &request(Some("t1"))).is_err());
    }
}
