// The New conversation dialog (Ctrl+N, or the button above the inbox): account (and company where
// the account has several), messenger, the contact (a phone number, or for Telegram a username), and
// the first message, or for WhatsApp Business a template with its substitutions. What each account
// can start on, and why an account cannot, comes from the core. A refused start (a malformed phone...)
// shows the core's message in the dialog with everything typed kept; a started one closes the dialog
// and hands the conversation to `onStarted`.

import { invoke } from "./ipc.js";
import { plainError } from "./errors.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";


const $ = (id) => document.getElementById(id);

const dialog = {
  /** What each account can start, from the core (`start_options`). */
  options: [],
  /** Templates per `account/company`, loaded on demand. */
  templates: new Map(),
  busy: false,
  onStarted: async () => {},
};

/** Wires the dialog. `onStarted(started)` runs with the core's answer once a start went through. */
export function initNewConversation(onStarted) {
  dialog.onStarted = onStarted;
  $("new-conversation-open").addEventListener("click", openNewConversation);
  $("nc-cancel").addEventListener("click", () => $("new-conversation").close());
  $("new-conversation-form").addEventListener("submit", submit);
  $("nc-account").addEventListener("change", () => showAccount());
  $("nc-company").addEventListener("change", () => showChannel());
  $("nc-channel").addEventListener("change", () => showChannel());
  $("nc-contact-kind").addEventListener("change", showContactKind);
  $("nc-template").addEventListener("change", showTemplate);
  $("nc-text").addEventListener("keydown", (event) => {
    // As in the composer: Ctrl+Enter sends, Enter is a new line.
    if (event.key === "Enter" && event.ctrlKey) {
      event.preventDefault();
      $("new-conversation-form").requestSubmit();
    }
  });
  for (const id of ["nc-contact", "nc-text"]) $(id).addEventListener("input", () => say(""));
}

/** Opens the dialog with the accounts' current options; what was typed before stays. */
export async function openNewConversation() {
  const box = $("new-conversation");
  if (box.open) return;
  say("");
  box.showModal();
  try {
    dialog.options = await invoke("conversations_start_options");
  } catch (error) {
    say(plainError(error));
    dialog.options = [];
  }
  fillAccounts();
  $("nc-account").focus();
}

function say(text) {
  $("nc-error").textContent = text;
}

function option(value, label, disabled = false) {
  const node = element("option", "", label);
  node.value = value;
  node.disabled = disabled;
  return node;
}

function channelLabel(channel) {
  const key = `channel.${channel}`;
  const label = t(key);
  return label === key ? channel : label;
}

function fillAccounts() {
  const select = $("nc-account");
  const previous = select.value;
  select.replaceChildren(...dialog.options.map((choice) => {
    const label = choice.reason ? t("newConversation.accountCannot", { account: choice.account }) : choice.account;
    return option(choice.account, label, Boolean(choice.reason) || choice.channels.length === 0);
  }));
  const usable = dialog.options.filter((choice) => !choice.reason && choice.channels.length > 0);
  if (usable.some((choice) => choice.account === previous)) select.value = previous;
  else if (usable.length > 0) select.value = usable[0].account;
  $("nc-submit").disabled = usable.length === 0;
  if (usable.length === 0 && dialog.options.length > 0) say(t("newConversation.noAccount"));
  showAccount();
}

function chosenAccount() {
  return dialog.options.find((choice) => choice.account === $("nc-account").value) ?? null;
}

function showAccount() {
  const choice = chosenAccount();
  // The core's reason names the server's API; the agent gets what it means for them.
  const unable = dialog.options.filter((other) => other.reason).map((other) => other.account);
  $("nc-account-reason").textContent = unable.length ? t("newConversation.cannotHere", { accounts: unable.join(", ") }) : "";
  $("nc-account-reason").hidden = unable.length === 0;
  const companies = choice?.companies ?? [];
  const company = $("nc-company");
  const previousCompany = company.value;
  company.replaceChildren(...companies.map((entry) => option(entry.id, entry.name ?? entry.id)));
  if (companies.some((entry) => entry.id === previousCompany)) company.value = previousCompany;
  $("nc-company-field").hidden = companies.length < 2;
  const channel = $("nc-channel");
  const previousChannel = channel.value;
  channel.replaceChildren(...(choice?.channels ?? []).map(({ name }) => option(name, channelLabel(name))));
  if (choice?.channels.some(({ name }) => name === previousChannel)) channel.value = previousChannel;
  showChannel();
}

/** The chosen account's rules for a messenger, as the core gives them (phone, username, template). */
function channelRule(channel) {
  return chosenAccount()?.channels.find((choice) => choice.name === channel) ?? null;
}

/** How the messenger addresses the contact, the first way being the default ([] for none). */
function contactWays(channel) {
  const rule = channelRule(channel);
  if (!rule) return ["phone"];
  return [rule.phone && "phone", rule.username && "username"].filter(Boolean);
}

/** True when the messenger's first message is a WABA template. */
function takesTemplate(channel) {
  return Boolean(channelRule(channel)?.template);
}

function showChannel() {
  const channel = $("nc-channel").value;
  const ways = contactWays(channel);
  $("nc-contact-kind-field").hidden = ways.length < 2;
  if (!ways.includes($("nc-contact-kind").value)) $("nc-contact-kind").value = ways[0] ?? "phone";
  $("nc-contact-field").hidden = ways.length === 0;
  showContactKind();
  const template = takesTemplate(channel);
  $("nc-text-field").hidden = template;
  $("nc-template-field").hidden = !template;
  if (template) loadTemplates();
}

function showContactKind() {
  const username = $("nc-contact-kind").value === "username";
  const key = username ? "newConversation.username" : "newConversation.phone";
  $("nc-contact-label").dataset.i18n = key;
  $("nc-contact-label").textContent = t(key);
  $("nc-contact").placeholder = t(username ? "newConversation.usernamePlaceholder" : "newConversation.phonePlaceholder");
  $("nc-contact").inputMode = username ? "text" : "tel";
}

/** The company a start goes to: the chosen one, or the account's only one. */
function chosenCompany() {
  const choice = chosenAccount();
  if (!choice) return null;
  if (choice.companies.length < 2) return choice.companies[0]?.id ?? null;
  return $("nc-company").value || null;
}

async function loadTemplates() {
  const choice = chosenAccount();
  const company = chosenCompany();
  if (!choice || !company) return;
  const key = `${choice.account}/${company}`;
  const select = $("nc-template");
  if (!dialog.templates.has(key)) {
    select.replaceChildren(option("", t("newConversation.templatesLoading"), true));
    try {
      dialog.templates.set(key, await invoke("conversations_templates", { account: choice.account, companyId: company }));
    } catch (error) {
      say(plainError(error));
      select.replaceChildren();
      showTemplate();
      return;
    }
  }
  // The choice may have moved on while the templates loaded.
  if (chosenAccount() !== choice || chosenCompany() !== company) return;
  const templates = dialog.templates.get(key);
  const previous = select.value;
  select.replaceChildren(...templates.map((template) => option(template.id, templateLabel(template.name ?? template.id))));
  if (templates.length === 0) select.replaceChildren(option("", t("newConversation.noTemplates"), true));
  if (templates.some((template) => template.id === previous)) select.value = previous;
  showTemplate();
}

function chosenTemplate() {
  const choice = chosenAccount();
  const templates = dialog.templates.get(`${choice?.account}/${chosenCompany()}`) ?? [];
  return templates.find((template) => template.id === $("nc-template").value) ?? null;
}

/**
 * The template's text as the customer will read it: each `{{n}}` shows the value typed for field n,
 * or "[Field n]" until one is typed.
 */
function showTemplateText() {
  const template = chosenTemplate();
  const values = Array.from($("nc-template-vars").querySelectorAll("input")).map((input) => input.value.trim());
  const text = (template?.body ?? "").replace(/\{\{\s*(\d+)\s*\}\}/g, (match, number) =>
    values[Number(number) - 1] || `[${t("newConversation.substitution", { number })}]`);
  $("nc-template-body").textContent = text;
}

/** Shows the template's text and one input per substitution (values typed before are kept). */
function showTemplate() {
  const template = chosenTemplate();
  const fields = $("nc-template-vars");
  const typed = Array.from(fields.querySelectorAll("input")).map((input) => input.value);
  const inputs = [];
  for (let index = 0; index < (template?.substitutions ?? 0); index += 1) {
    const label = element("label");
    label.append(element("span", "", t("newConversation.substitution", { number: index + 1 })));
    const input = element("input");
    input.autocomplete = "off";
    input.maxLength = 1000;
    input.value = typed[index] ?? "";
    input.addEventListener("input", () => {
      say("");
      showTemplateText();
    });
    label.append(input);
    inputs.push(label);
  }
  fields.replaceChildren(...inputs);
  showTemplateText();
}

async function submit(event) {
  event.preventDefault();
  if (dialog.busy) return;
  const choice = chosenAccount();
  if (!choice) return;
  const channel = $("nc-channel").value;
  const ways = contactWays(channel);
  const contact = ways.length > 0 ? $("nc-contact").value.trim() : "";
  const byUsername = ways.includes("username") && $("nc-contact-kind").value === "username";
  const template = takesTemplate(channel);
  const args = {
    account: choice.account,
    companyId: chosenCompany(),
    channel,
    phone: byUsername ? null : contact || null,
    username: byUsername ? contact.replace(/^@/, "") || null : null,
    text: template ? null : $("nc-text").value.trim() || null,
    template: template ? $("nc-template").value || null : null,
    templateVars: template ? Array.from($("nc-template-vars").querySelectorAll("input")).map((input) => input.value) : [],
  };
  dialog.busy = true;
  $("nc-submit").disabled = true;
  say("");
  try {
    const started = await invoke("conversations_start", args);
    $("new-conversation").close();
    $("nc-contact").value = "";
    $("nc-text").value = "";
    $("nc-template-vars").replaceChildren();
    await dialog.onStarted(started);
  } catch (error) {
    // Everything typed stays; the core's message says what to fix.
    say(plainError(error));
    $("nc-contact").focus();
  } finally {
    dialog.busy = false;
    $("nc-submit").disabled = false;
  }
}

/** A WABA template's name as a person reads it: "order_status" → "Order status". */
function templateLabel(name) {
  const words = String(name).replace(/[_-]+/g, " ").trim();
  return words ? words[0].toLocaleUpperCase() + words.slice(1) : String(name);
}
