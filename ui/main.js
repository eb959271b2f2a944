// The window's controller: picks the language and theme, wires the inbox, search, thread, composer,
// actions, new-conversation and settings modules together, listens to the backend's events, gives
// the keyboard's commands (shortcuts.js lists them) what they do, and handles sync and the account
// dialogs. A conversation started here has a
// placeholder id ("new-…") until the outbox opened it on the server; then the selection moves to the
// real id.

import { invoke, listen } from "./ipc.js";
import { plainError } from "./errors.js";
import { element } from "./dom.js";
import { language, setLocale, t, tn, translatePage } from "./i18n.js";
import { currentFilter, initInbox, keyOf, loadSidebar, openNextUnread, reloadInbox, setOpenKey, step, updateRow } from "./inbox.js";
import { focusSearch, initSearch } from "./search.js";
import { initThread, refreshThread, showThread, showUploadProgress } from "./thread.js";
import { initComposer, renameConversation, showComposer, stageFiles, stageReply } from "./composer.js";
import { assignToMe, focusAssign, initActions, offers, showActions, teammatesChanged, toggleArchived, toggleReplied } from "./actions.js";
import { initDetails, showDetails } from "./details.js";
import { initMedia } from "./media.js";
import { loadTheme, setTheme } from "./preferences.js";
import { channelName } from "./format.js";
import { initShortcuts } from "./shortcuts.js";
import { initNewConversation, openNewConversation } from "./newconv.js";
import { initSettings, openSettings } from "./settings.js";
import { loadMyIds, myIdOf, saveMyId } from "./team.js";
import { forgetReplies } from "./replies.js";
import { showCacheRecovery } from "./recovery.js";
import { initAbout } from "./about.js";
import { initDeepLinks, showCopyLink } from "./deeplink.js";
import { initUpdates } from "./updates.js";

/** The id prefix of a conversation started here that the server has not opened yet. */
const PLACEHOLDER_PREFIX = "new-";
const $ = (id) => document.getElementById(id);
let accounts = [];
/** The conversation open in the thread, or null. */
let openConversation = null;
/** parley://open/… links: `ready()` once the inbox shows. */
let deepLinks = null;
/** The conversation the agent marked unread while it is open: it is not marked read again until reopened. */
let keptUnread = null;


function showStatus(text) {
  $("status").textContent = text;
}

function showError(error) {
  showStatus(plainError(error));
}

/** The OS language from the backend when it can tell, else the web view's. */
async function pickLanguage() {
  try {
    setLocale(await invoke("app_locale"));
  } catch {
    setLocale(navigator.language);
  }
  translatePage();
}

async function refreshSidebar() {
  const sidebar = await loadSidebar();
  accounts = sidebar.accounts;
  document.title = sidebar.unread > 0 ? `${t("app.name")} (${sidebar.unread})` : t("app.name");
  if (accounts.length === 0) openAddAccount();
}

/** Opens a conversation: list highlight, header, thread, composer draft, actions. */
async function open(conversation, focusId = null) {
  openConversation = conversation;
  keptUnread = null;
  setOpenKey(keyOf(conversation));
  $("thread-title").textContent = conversation.title ?? t("conversation.noName");
  showMeta(conversation);
  showCopyLink(conversation.id.startsWith(PLACEHOLDER_PREFIX) ? null : conversation);
  const account = accounts.find((known) => known.name === conversation.account);
  showActions(conversation, account);
  invoke("window_focus_conversation", { account: conversation.account, id: conversation.id }).catch(() => {});
  // The paced sync reads this thread first.
  invoke("conversations_focus", { account: conversation.account, id: conversation.id }).catch(() => {});
  const composerReady = showComposer(conversation, account);
  if (conversation.unread) {
    conversation.unread = false;
    updateRow(conversation);
    invoke("conversations_mark_read", { account: conversation.account, id: conversation.id })
      .then(refreshSidebar)
      .catch(showError);
  }
  try {
    await showThread(conversation, focusId, account);
  } catch (error) {
    showError(error);
  }
  await composerReady;
}

/** The header's second line: messenger · account, and whether it is archived or replied. */
function showMeta(conversation) {
  const parts = [
    channelName(conversation.channel),
    conversation.account,
    conversation.state === "archived" ? t("thread.archived") : "",
    conversation.replied === true ? t("thread.replied") : "",
  ];
  $("thread-meta").textContent = parts.filter(Boolean).join(" · ");
  showDetails(conversation);
}

async function openSearchHit(account, id, messageId) {
  try {
    const conversation = await invoke("conversations_get", { account, id });
    await open(conversation, messageId);
  } catch (error) {
    showError(error);
  }
}

/** A conversation was started (or an existing one found) from the New conversation dialog. */
async function onStarted({ conversation, existing }) {
  await Promise.all([refreshSidebar(), reloadInbox()]).catch(showError);
  let summary = conversation;
  try {
    summary = await invoke("conversations_get", { account: conversation.account, id: conversation.id });
  } catch {
    // The started conversation itself is enough to show it.
  }
  await open(summary);
  if (existing) showStatus(t("newConversation.existing"));
  $("composer-text").focus();
  // The outbox may have opened it on the server already, before its events could find it open here.
  await resolvePlaceholder().catch(showError);
}

/**
 * After the outbox moved: a conversation started here and open under its placeholder id switches to
 * the server's id once the outbox opened it (the inbox row too).
 */
async function resolvePlaceholder() {
  const placeholder = openConversation;
  if (!placeholder?.id.startsWith(PLACEHOLDER_PREFIX)) return;
  const resolved = await invoke("conversations_resolve", { account: placeholder.account, id: placeholder.id });
  if (resolved.id === placeholder.id || openConversation !== placeholder) return;
  const conversation = { ...placeholder, ...resolved };
  openConversation = conversation;
  renameConversation(conversation);
  setOpenKey(keyOf(conversation));
  $("thread-title").textContent = conversation.title ?? t("conversation.noName");
  showMeta(conversation);
  showCopyLink(conversation);
  showActions(conversation, accounts.find((known) => known.name === conversation.account));
  invoke("window_focus_conversation", { account: conversation.account, id: conversation.id }).catch(() => {});
  invoke("conversations_focus", { account: conversation.account, id: conversation.id }).catch(() => {});
  await reloadInbox();
  await showThread(conversation, null, accounts.find((known) => known.name === conversation.account));
}

async function syncNow() {
  showStatus(t("sync.running"));
  try {
    const reports = await invoke("sync_run", {});
    const fresh = reports.reduce((sum, report) => sum + report.new_messages, 0);
    showStatus(t("sync.done", { count: fresh }));
    await Promise.all([refreshSidebar(), reloadInbox(), refreshThread()]);
  } catch (error) {
    showError(error);
  }
}

function openAddAccount() {
  $("add-account-error").textContent = "";
  showCredentialFields();
  if (!$("add-account").open) $("add-account").showModal();
}

/** The provider's address placeholder, for the add-account form. */
const DEFAULT_ADDRESS = {
  pact: "https://api.pact.im/",
  "pact-p1": "https://api.pact.im/p1/",
  voipbin: "https://api.voipbin.net",
};

/**
 * Fits the add-account form to the provider: Pact asks for an API token; VoIPbin for an access key,
 * or with a username for that user's password.
 */
function showCredentialFields() {
  const provider = $("account-provider").value;
  const voipbin = provider === "voipbin";
  $("account-username").hidden = !voipbin;
  const withUsername = voipbin && $("add-account-form").elements.username.value.trim() !== "";
  const label = !voipbin ? "account.token" : withUsername ? "account.password" : "account.accessKey";
  $("account-token-label").dataset.i18n = label;
  $("account-token-label").textContent = t(label);
  $("account-base-url").placeholder = DEFAULT_ADDRESS[provider] ?? "";
}

async function addAccount(event) {
  event.preventDefault();
  const form = new FormData($("add-account-form"));
  const args = {
    provider: form.get("provider"),
    name: form.get("name"),
    token: form.get("token"),
    username: form.get("provider") === "voipbin" ? form.get("username") || null : null,
    baseUrl: form.get("base_url") || null,
  };
  try {
    await invoke("accounts_add", args);
    $("add-account-form").reset();
    $("add-account").close();
    await refreshSidebar();
    await syncNow();
  } catch (error) {
    $("add-account-error").textContent = plainError(error);
  }
}

/** Asks before removing the account `name`. */
function askRemoveAccount(name) {
  $("remove-account").dataset.account = name;
  $("remove-account-text").textContent = t("account.removeText", { name });
  $("remove-account-error").textContent = "";
  $("remove-account").showModal();
}

async function removeAccount(event) {
  event.preventDefault();
  const name = $("remove-account").dataset.account;
  try {
    await invoke("accounts_remove", { name });
    $("remove-account").close();
    if (openConversation?.account === name) location.reload();
    await refreshSidebar();
    await reloadInbox();
  } catch (error) {
    $("remove-account-error").textContent = plainError(error);
  }
}

/** The user's own id per account, for the "Mine" filter. */
async function myIds() {
  return loadMyIds(accounts.map((account) => account.name));
}

/** Before "Mine" applies: asks for the user's id on accounts that have none yet (once). */
async function ensureMyIds() {
  const known = await myIds();
  if (known.some(([, id]) => id)) return true;
  return askMyIds(known);
}

/** Shows the "your user id" dialog; resolves true when saved. */
function askMyIds(known) {
  const fields = $("my-id-fields");
  fields.replaceChildren(...known.map(([account, id]) => {
    const label = element("label", "", null);
    label.append(element("span", "", account));
    const input = element("input");
    input.name = account;
    input.value = id;
    input.maxLength = 32;
    input.autocomplete = "off";
    label.append(input);
    return label;
  }));
  $("my-id-error").textContent = "";
  $("my-id").showModal();
  fields.querySelector("input")?.focus();
  return new Promise((resolve) => {
    const form = $("my-id-form");
    const finish = (saved) => {
      form.removeEventListener("submit", onSubmit);
      $("my-id-cancel").removeEventListener("click", onCancel);
      $("my-id").removeEventListener("close", onCancel);
      resolve(saved);
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      try {
        for (const input of fields.querySelectorAll("input")) {
          await saveMyId(input.name, input.value);
        }
        finish(true);
        $("my-id").close();
        if (currentFilter() === "mine") await reloadInbox();
      } catch (error) {
        $("my-id-error").textContent = plainError(error);
      }
    };
    const onCancel = () => {
      finish(false);
      if ($("my-id").open) $("my-id").close();
    };
    form.addEventListener("submit", onSubmit);
    $("my-id-cancel").addEventListener("click", onCancel);
    $("my-id").addEventListener("close", onCancel);
  });
}

/**
 * Esc closes the open dialogs; with none open, it takes the focus out of the reply box to the thread,
 * where the letter shortcuts work (the shortcuts themselves are shortcuts.js's).
 */
function onKeyDown(event) {
  if (event.key !== "Escape" || event.defaultPrevented) return;
  const dialogs = document.querySelectorAll("dialog[open]");
  for (const dialog of dialogs) dialog.close();
  if (dialogs.length === 0 && document.activeElement === $("composer-text") && $("reply-picker").hidden) {
    $("messages").focus();
  }
}

/** Marks `conversation` unread again; when it is the open one, it stays unread until reopened. */
async function markUnread(conversation) {
  if (!conversation) return;
  await invoke("conversations_mark_unread", { account: conversation.account, id: conversation.id });
  if (openConversation && keyOf(openConversation) === keyOf(conversation)) keptUnread = keyOf(conversation);
  conversation.unread = true;
  showStatus(t("conversation.markedUnread", { name: conversation.title ?? t("conversation.noName") }));
  await Promise.all([reloadInbox(), refreshSidebar()]);
}

async function markRead(conversation) {
  await invoke("conversations_mark_read", { account: conversation.account, id: conversation.id });
  if (keptUnread === keyOf(conversation)) keptUnread = null;
  await Promise.all([reloadInbox(), refreshSidebar()]);
}

/** A teammate's name or the agent's own id changed in Settings: rows and header show it. */
async function teamChanged() {
  await teammatesChanged();
  await reloadInbox();
  if (openConversation) showMeta(openConversation);
}

/** The agent's own user id on `account`, asked for (once) when unknown; "" when there is none. */
async function myIdOn(account) {
  const mine = (await myIds()).find(([name]) => name === account)?.[1] ?? "";
  if (mine || !(await askMyIds(await myIds()).catch(() => false))) return mine;
  return myIdOf(account);
}

/** Puts the focus in the reply box; with `savedReply`, opens the saved replies there. */
function focusComposer(savedReply = false) {
  const box = $("composer-text");
  if (box.disabled) return;
  box.focus();
  if (savedReply && box.value === "") {
    box.value = "/";
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

function clickFilter(filter) {
  document.querySelector(`#filters [data-filter="${filter}"]`)?.click();
}

/** What each command of shortcuts.js does, and when it is offered. */
function commandHandlers() {
  const withConversation = () => openConversation !== null;
  const offered = (feature) => () => withConversation() && offers(feature);
  return {
    search: { run: focusSearch },
    next: { run: () => step(1) },
    previous: { run: () => step(-1) },
    nextUnread: {
      run: async () => {
        if (!(await openNextUnread())) showStatus(t("conversation.noneUnread"));
      },
    },
    reply: { run: () => focusComposer(), available: withConversation },
    savedReply: { run: () => focusComposer(true), available: withConversation },
    assign: { run: focusAssign, available: withConversation },
    assignToMe: { run: assignToMe, available: withConversation },
    archive: { run: toggleArchived, available: offered("archive") },
    replied: { run: toggleReplied, available: offered("replied") },
    markUnread: { run: () => markUnread(openConversation), available: withConversation },
    filterAll: { run: () => clickFilter("all") },
    filterMine: { run: () => clickFilter("mine") },
    filterUnassigned: { run: () => clickFilter("unassigned") },
    filterArchived: { run: () => clickFilter("archived") },
    themeSystem: { run: () => setTheme("system") },
    themeLight: { run: () => setTheme("light") },
    themeDark: { run: () => setTheme("dark") },
    newConversation: { run: openNewConversation },
    settings: { run: openSettings },
  };
}

function onConversationChanged(conversation) {
  updateRow(conversation);
  showMeta(conversation);
  reloadInbox();
}

/** Marks the open conversation read when the user can see it (window focused and visible). */
async function markOpenConversationRead() {
  if (!openConversation || document.hidden || !document.hasFocus()) return;
  if (keptUnread === keyOf(openConversation)) return;
  await invoke("conversations_mark_read", { account: openConversation.account, id: openConversation.id });
}

function wire() {
  initInbox({
    onOpen: (conversation) => open(conversation),
    onError: showError,
    onMineNeedsIds: ensureMyIds,
    onRemoveAccount: askRemoveAccount,
    onMarkUnread: (conversation) => markUnread(conversation),
    onMarkRead: (conversation) => markRead(conversation),
  });
  initShortcuts(commandHandlers(), showError);
  initSearch({ onPick: openSearchHit, onError: showError });
  initThread(showError, stageReply);
  initMedia(showError);
  initComposer({ onSent: refreshThread, onError: showError });
  initActions(onConversationChanged, () => {
    if (openConversation) showMeta(openConversation);
  }, myIdOn);
  initDetails((account, id) => openSearchHit(account, id, null));
  initNewConversation(onStarted);
  initSettings({ accounts: () => accounts, onChanged: forgetReplies, onTeamChanged: teamChanged });
  initAbout();
  deepLinks = initDeepLinks((account, id) => openSearchHit(account, id, null));
  initUpdates();
  $("sync-now").addEventListener("click", syncNow);
  $("add-account-open").addEventListener("click", openAddAccount);
  $("add-account-cancel").addEventListener("click", () => $("add-account").close());
  $("add-account-form").addEventListener("submit", addAccount);
  $("remove-account-cancel").addEventListener("click", () => $("remove-account").close());
  $("remove-account-form").addEventListener("submit", removeAccount);
  $("account-provider").addEventListener("change", showCredentialFields);
  $("add-account-form").elements.username.addEventListener("input", showCredentialFields);
  $("my-id-open").addEventListener("click", async () => {
    if (await askMyIds(await myIds()).catch(() => false)) reloadInbox();
  });
  document.addEventListener("keydown", onKeyDown);
  /** What a paced sync (Pact p2) still has to download and about how long its rate limits need
   *  (longer while other computers use the same token: `limit_share` is this one's part). */
  const historyLeft = ({ history_waiting: waiting, eta_seconds: eta, limit_share: share }) => {
    if (!waiting || eta == null) return "";
    const minutes = Math.ceil(eta / 60);
    if (share != null) return t(eta < 60 ? "sync.sharedSoon" : "sync.sharedLeft", { minutes });
    return eta < 60 ? tn("sync.historySoon", waiting) : tn("sync.historyLeft", waiting, { minutes });
  };
  listen("sync-progress", (progress) => {
    const { account, conversations_done: done, conversations_total: total } = progress;
    // A background sync says when it is through, so "Syncing… 18/18" does not linger.
    const time = new Date().toLocaleTimeString(language(), { timeStyle: "short" });
    if (done >= total) return showStatus(t("sync.upToDate", { time }));
    showStatus([t("sync.progress", { account, done, total }), historyLeft(progress)].filter(Boolean).join(" · "));
  });
  listen("outbox-changed", async () => {
    await resolvePlaceholder().catch(showError);
    await refreshThread().catch(showError);
  });
  listen("outbox-progress", showUploadProgress);
  listen("inbox-changed", async () => {
    await resolvePlaceholder().catch(showError);
    refreshThread().catch(showError);
    // New messages in the thread the user is looking at are read, not unread.
    await markOpenConversationRead().catch(showError);
    refreshSidebar().catch(showError);
    reloadInbox().catch(showError);
  });
  listen("files-dropped", (files) => stageFiles(files));
  listen("open-conversation", ({ account, id }) => openSearchHit(account, id, null));
  listen("connectivity", ({ online }) => {
    $("offline-banner").hidden = online;
  });
}

async function start() {
  await pickLanguage();
  loadTheme().catch(() => {});
  wire();
  showCacheRecovery().catch(showError);
  // The inbox and the sidebar are fetched together (the inbox first: it is what the first paint waits for).
  await Promise.all([reloadInbox(), refreshSidebar()]).catch(showError);
  // The agent's own ids ("Me" on rows assigned to them) come after the first paint.
  myIds().then((known) => (known.some(([, id]) => id) ? reloadInbox() : null)).catch(showError);
  // A link the app was started with opens now that the inbox shows.
  await deepLinks.ready().catch(showError);
}

start();
