// The inbox controller: loads accounts, conversations and threads through ipc.js, renders them with
// dom.js (text only), and wires the composer, search, sync and the add-account dialog.

import { invoke, listen } from "./ipc.js";
import { clear, element, size, when } from "./dom.js";

const THREAD_PAGE = 200;
const $ = (id) => document.getElementById(id);

/** What is on screen. */
const state = { accounts: [], conversations: [], open: null, staged: [] };

function showStatus(text) {
  $("status").textContent = text;
}

function showError(error) {
  showStatus(error?.message ?? String(error));
}

async function loadAccounts() {
  state.accounts = await invoke("accounts_list");
  const list = $("accounts");
  clear(list);
  for (const account of state.accounts) {
    const item = element("li", "accounts__item", account.name);
    if (account.unread_conversations > 0) {
      item.append(element("span", "accounts__unread", String(account.unread_conversations)));
    }
    list.append(item);
  }
  const unread = state.accounts.reduce((sum, account) => sum + account.unread_conversations, 0);
  document.title = unread > 0 ? `Parley (${unread})` : "Parley";
  if (state.accounts.length === 0) {
    openAddAccount();
  }
}

async function loadConversations() {
  state.conversations = await invoke("conversations_list", { limit: 500 });
  renderConversations(state.conversations);
}

function renderConversations(conversations) {
  const list = $("conversations");
  clear(list);
  for (const conversation of conversations) {
    const item = element("li", "conversation");
    if (state.open && state.open.account === conversation.account && state.open.id === conversation.id) {
      item.classList.add("conversation--open");
    }
    if (conversation.unread) {
      item.classList.add("conversation--unread");
    }
    item.append(
      element("span", "conversation__title", conversation.title ?? "(no name)"),
      element("span", "conversation__time", when(conversation.last_message_at)),
      element("span", "conversation__meta", [conversation.channel, conversation.account].filter(Boolean).join(" · ")),
    );
    if (conversation.assignee_id) {
      item.append(element("span", "conversation__assignee", `→ ${conversation.assignee_id}`));
    }
    item.tabIndex = 0;
    item.addEventListener("click", () => openConversation(conversation));
    item.addEventListener("keydown", (event) => {
      if (event.key === "Enter") openConversation(conversation);
    });
    list.append(item);
  }
}

async function openConversation(conversation) {
  state.open = conversation;
  $("thread-title").textContent = conversation.title ?? "(no name)";
  const meta = [conversation.channel, conversation.account, conversation.note ? `Note: ${conversation.note}` : ""];
  $("thread-meta").textContent = meta.filter(Boolean).join(" · ");
  $("composer-text").disabled = false;
  $("composer-send").disabled = false;
  $("attach").disabled = false;
  if (conversation.unread) {
    conversation.unread = false;
    invoke("conversations_mark_read", { account: conversation.account, id: conversation.id })
      .then(loadAccounts)
      .catch(showError);
  }
  renderConversations(state.conversations);
  await loadThread();
}

async function loadThread() {
  if (!state.open) return;
  const { account, id } = state.open;
  const messages = await invoke("messages_list", { account, id, limit: THREAD_PAGE });
  const list = $("messages");
  // Follow new messages only when the reader is already at the bottom; otherwise keep their place.
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const keptPosition = list.scrollTop;
  clear(list);
  for (const message of messages) {
    list.append(renderMessage(message));
  }
  list.scrollTop = atBottom ? list.scrollHeight : keptPosition;
}

function renderMessage(message) {
  const item = element("li", `message message--${message.direction}`);
  if (message.text) {
    item.append(element("p", "message__text", message.text));
  }
  for (const attachment of message.attachments) {
    const details = [size(attachment.size), attachment.mime].filter(Boolean).join(", ");
    item.append(element("p", "message__file", `📎 ${attachment.name ?? "file"}${details ? ` (${details})` : ""}`));
  }
  const footer = [when(message.created_at)];
  if (message.direction === "out") footer.push(message.status);
  item.append(element("span", "message__meta", footer.join(" · ")));
  if (message.error) {
    item.append(element("p", "message__error", message.error));
  }
  if (message.status === "failed" && message.outbox_id) {
    const retry = element("button", "message__retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => retrySend(message.outbox_id));
    item.append(retry);
  }
  return item;
}

/** Adds files to the composer, skipping ones already staged. */
function stageFiles(files) {
  for (const file of files) {
    if (!state.staged.some((staged) => staged.path === file.path)) {
      state.staged.push(file);
    }
  }
  renderStaged();
}

function renderStaged() {
  const list = $("staged-files");
  clear(list);
  state.staged.forEach((file, index) => {
    const item = element("li", "staged__file");
    item.append(element("span", "staged__name", file.name), element("span", "staged__size", size(file.size)));
    const remove = element("button", "staged__remove secondary", "×");
    remove.type = "button";
    remove.title = `Remove ${file.name}`;
    remove.addEventListener("click", () => {
      state.staged.splice(index, 1);
      renderStaged();
    });
    item.append(remove);
    list.append(item);
  });
}

async function pickFiles() {
  try {
    stageFiles(await invoke("files_pick"));
  } catch (error) {
    showError(error);
  }
}

async function send(event) {
  event?.preventDefault();
  const textarea = $("composer-text");
  const text = textarea.value.trim();
  if (!state.open || (!text && state.staged.length === 0)) return;
  const { account, id } = state.open;
  const files = state.staged.map((file) => file.path);
  try {
    await invoke("messages_send", { account, id, text: text || null, files });
    textarea.value = "";
    state.staged = [];
    renderStaged();
    await loadThread();
  } catch (error) {
    showError(error);
  }
}

async function retrySend(outboxId) {
  try {
    await invoke("outbox_retry", { id: outboxId });
  } catch (error) {
    showError(error);
  }
  await loadThread();
}

async function syncNow() {
  showStatus("Syncing…");
  try {
    const reports = await invoke("sync_run", {});
    const fresh = reports.reduce((sum, report) => sum + report.new_messages, 0);
    showStatus(`Up to date · ${fresh} new`);
    await loadConversations();
    await loadThread();
  } catch (error) {
    showError(error);
  }
}

let searchTimer = 0;
function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 200);
}

async function runSearch() {
  const query = $("search").value.trim();
  if (!query) {
    renderConversations(state.conversations);
    return;
  }
  try {
    const hits = await invoke("search_query", { query, limit: 50 });
    const list = $("conversations");
    clear(list);
    for (const hit of hits) {
      const item = element("li", "conversation");
      item.append(
        element("span", "conversation__title", hit.snippet),
        element("span", "conversation__time", when(hit.created_at)),
        element("span", "conversation__meta", hit.conversation),
      );
      item.addEventListener("click", () => {
        const [account, id] = [hit.account, hit.conversation.slice(hit.account.length + 1)];
        const known = state.conversations.find((c) => c.account === account && c.id === id);
        openConversation(known ?? { account, id, title: id });
      });
      list.append(item);
    }
  } catch (error) {
    showError(error);
  }
}

function openAddAccount() {
  $("add-account-error").textContent = "";
  $("add-account").showModal();
}

async function addAccount(event) {
  event.preventDefault();
  const form = new FormData($("add-account-form"));
  const args = {
    provider: form.get("provider"),
    name: form.get("name"),
    token: form.get("token"),
    baseUrl: form.get("base_url") || null,
  };
  try {
    await invoke("accounts_add", args);
    $("add-account-form").reset();
    $("add-account").close();
    await loadAccounts();
    await syncNow();
  } catch (error) {
    $("add-account-error").textContent = error?.message ?? String(error);
  }
}

function wire() {
  $("composer").addEventListener("submit", send);
  $("composer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.ctrlKey) send(event);
  });
  $("sync-now").addEventListener("click", syncNow);
  $("attach").addEventListener("click", pickFiles);
  $("add-account-open").addEventListener("click", openAddAccount);
  $("add-account-cancel").addEventListener("click", () => $("add-account").close());
  $("add-account-form").addEventListener("submit", addAccount);
  $("search").addEventListener("input", onSearchInput);
  document.addEventListener("keydown", (event) => {
    if (event.key.toLowerCase() === "k" && event.ctrlKey) {
      event.preventDefault();
      $("search").focus();
    }
  });
  listen("sync-progress", (progress) => {
    showStatus(`Syncing ${progress.account}: ${progress.conversations_done}/${progress.conversations_total}`);
  });
  listen("outbox-changed", () => loadThread().catch(showError));
  listen("inbox-changed", () => {
    loadAccounts().catch(showError);
    loadConversations().catch(showError);
    loadThread().catch(showError);
  });
  listen("files-dropped", (files) => {
    if (state.open) stageFiles(files);
    else showStatus("Open a conversation first, then drop files on the window to attach them.");
  });
  listen("connectivity", ({ online }) => {
    $("offline-banner").hidden = online;
  });
}

async function start() {
  wire();
  try {
    await loadAccounts();
    await loadConversations();
  } catch (error) {
    showError(error);
  }
}

start();
