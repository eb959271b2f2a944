// The open thread: messages with direction, time and delivery status (failed ones with the reason and
// a Retry), the message each one answers, a mark on deleted ones, Reply and Delete (after a confirm
// dialog) on the team's sent messages where the account offers them, attachments with name, size, an
// image preview and Open / Save, and links that open in the system browser on a click. Older messages load when the reader scrolls to the top; the list keeps the
// reader's place when new messages arrive or older ones load. Customer content is set with textContent.

import { invoke } from "./ipc.js";
import { clear, element, size, when } from "./dom.js";
import { t } from "./i18n.js";

/** Messages per page. */
export const THREAD_PAGE = 200;
/** Load older messages when the reader is this close (px) to the top. */
const NEAR_TOP = 300;
/** How many older pages a search hit may pull in to reach its message. */
const MAX_PAGES_TO_HIT = 25;
/** http(s) links in message text; trailing punctuation is left out. */
const LINK = /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}»]/g;
const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp)$/;
/** How much of a message's text a quote or the delete dialog shows. */
const QUOTE_CHARS = 80;

const $ = (id) => document.getElementById(id);

const thread = {
  conversation: null,
  /** The conversation's account (its `features` say whether Reply and Delete are offered). */
  account: null,
  messages: [],
  loadingOlder: false,
  historyDone: false,
  /** Bumped when another thread opens, so late answers are dropped. */
  generation: 0,
  /** Preview blob URLs by attachment key, revoked when the thread closes. */
  previews: new Map(),
  onError: () => {},
  /** Called with a message the user wants to answer. */
  onReply: () => {},
};

const previewObserver = new IntersectionObserver(loadVisiblePreviews, { root: null, rootMargin: "200px" });

/**
 * Wires scrolling and the delete dialog. `onError` shows a failed command's message; `onReply(message)`
 * quotes a message in the composer.
 */
export function initThread(onError, onReply = () => {}) {
  thread.onError = onError;
  thread.onReply = onReply;
  $("delete-message-cancel").addEventListener("click", () => $("delete-message").close());
  $("delete-message-form").addEventListener("submit", deleteMessage);
  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < NEAR_TOP) loadOlder();
  }, { passive: true });
}

/**
 * Shows a conversation's newest messages; with `focusId`, pages back to that message and shows it.
 * `account` (from accounts_list) says whether its provider offers Reply and Delete.
 */
export async function showThread(conversation, focusId = null, account = null) {
  thread.generation += 1;
  const generation = thread.generation;
  thread.conversation = conversation;
  thread.account = account;
  thread.historyDone = false;
  thread.loadingOlder = false;
  setOlderStatus("");
  forgetPreviews();
  const messages = await invoke("messages_list", { account: conversation.account, id: conversation.id, limit: THREAD_PAGE });
  if (generation !== thread.generation) return;
  thread.messages = messages;
  thread.historyDone = messages.length < THREAD_PAGE;
  drawAll();
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
  // Benchmark: a thread's messages are on screen after a row was picked.
  requestAnimationFrame(() => performance.mark("thread-painted"));
  if (focusId) await focusMessage(focusId, generation);
}

/** Reloads the newest page (new messages, delivery states) and keeps the reader's place. */
export async function refreshThread() {
  const conversation = thread.conversation;
  if (!conversation) return;
  const generation = thread.generation;
  const newest = await invoke("messages_list", { account: conversation.account, id: conversation.id, limit: THREAD_PAGE });
  if (generation !== thread.generation) return;
  thread.messages = merge(thread.messages, newest);
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const anchor = atBottom ? null : firstVisible();
  drawAll();
  if (atBottom) list.scrollTop = list.scrollHeight;
  else if (anchor) restoreAnchor(anchor);
}

/** Keeps the older messages already loaded and replaces the rest with the fresh newest page. */
function merge(current, newest) {
  const oldestFresh = newest.find((message) => message.id);
  if (!oldestFresh) return current.filter((message) => message.id).concat(newest);
  const at = current.findIndex((message) => message.id === oldestFresh.id);
  if (at < 0) return newest;
  return current.slice(0, at).filter((message) => message.id).concat(newest).filter(dedupe());
}

function dedupe() {
  const seen = new Set();
  return (message) => {
    const key = keyOf(message);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

function keyOf(message) {
  return message.id ? `m:${message.id}` : `o:${message.outbox_id}`;
}

/** Loads the page of messages above the oldest one shown, keeping what the reader sees in place. */
async function loadOlder() {
  const conversation = thread.conversation;
  if (!conversation || thread.loadingOlder || thread.historyDone) return false;
  const oldest = thread.messages.find((message) => message.id);
  if (!oldest) return false;
  thread.loadingOlder = true;
  const generation = thread.generation;
  setOlderStatus(t("thread.loadingOlder"));
  try {
    const older = await invoke("messages_list", {
      account: conversation.account,
      id: conversation.id,
      limit: THREAD_PAGE,
      before: oldest.id,
    });
    if (generation !== thread.generation) return false;
    thread.historyDone = older.length < THREAD_PAGE;
    thread.messages = older.concat(thread.messages);
    const list = $("messages");
    const fromBottom = list.scrollHeight - list.scrollTop;
    list.prepend(...older.map(renderMessage));
    list.scrollTop = list.scrollHeight - fromBottom;
    return older.length > 0;
  } catch (error) {
    thread.onError(error);
    return false;
  } finally {
    thread.loadingOlder = false;
    setOlderStatus(thread.historyDone ? t("thread.historyStart") : "");
  }
}

/**
 * Shows how far a send's upload got on its message: "uploading 1 of 2: 45 %" and a progress bar.
 * @param {{ outbox_id: number, done: number, total: number, bytes_sent: number, bytes_total: number }} progress
 */
export function showUploadProgress({ outbox_id: outboxId, done, total, bytes_sent: sent, bytes_total: size }) {
  const item = $("messages").querySelector(`li[data-key="o:${outboxId}"]`);
  const meta = item?.querySelector(".message__meta");
  if (!meta) return;
  const percent = size > 0 ? Math.floor((100 * sent) / size) : 0;
  const shown = meta.textContent.split(" · ")[0];
  const label = t("status.uploadingPercent", { current: Math.min(done + 1, total), total, percent });
  meta.textContent = [shown, label].join(" · ");
  let bar = item.querySelector("progress.message__progress");
  if (!bar) {
    bar = element("progress", "message__progress");
    item.insertBefore(bar, meta);
  }
  bar.max = Math.max(size, 1);
  bar.value = Math.min(sent, bar.max);
  bar.title = label;
}

function setOlderStatus(text) {
  const status = $("older-status");
  status.textContent = text;
  status.hidden = !text;
}

async function focusMessage(messageId, generation) {
  for (let page = 0; page <= MAX_PAGES_TO_HIT; page += 1) {
    const node = $("messages").querySelector(`li[data-key="${CSS.escape(`m:${messageId}`)}"]`);
    if (node) {
      node.scrollIntoView({ block: "center" });
      node.classList.add("message--found");
      return;
    }
    if (generation !== thread.generation || !(await loadOlder())) return;
  }
}

function firstVisible() {
  const list = $("messages");
  const top = list.getBoundingClientRect().top;
  for (const node of list.children) {
    const box = node.getBoundingClientRect();
    if (box.bottom > top) return { key: node.dataset.key, offset: box.top - top };
  }
  return null;
}

function restoreAnchor(anchor) {
  const list = $("messages");
  const node = list.querySelector(`li[data-key="${CSS.escape(anchor.key)}"]`);
  if (!node) return;
  list.scrollTop += node.getBoundingClientRect().top - list.getBoundingClientRect().top - anchor.offset;
}

function drawAll() {
  const list = $("messages");
  previewObserver.disconnect();
  clear(list);
  list.append(...thread.messages.map(renderMessage));
}

function forgetPreviews() {
  for (const url of thread.previews.values()) URL.revokeObjectURL(url);
  thread.previews.clear();
}

function renderMessage(message) {
  const item = element("li", `message message--${message.direction}`);
  item.dataset.key = keyOf(message);
  item.dataset.status = message.status;
  if (message.deleted) item.classList.add("message--deleted");
  if (message.reply_to) item.append(renderQuote(message.reply_to));
  if (message.text) item.append(renderText(message.text));
  message.attachments.forEach((attachment, position) => item.append(renderAttachment(message, attachment, position)));
  const footer = [when(message.created_at)];
  if (message.direction === "out") footer.push(t(`status.${message.status}`));
  item.append(element("span", "message__meta", footer.join(" · ")));
  if (message.deleted) item.append(element("span", "message__deleted", t("message.deleted")));
  if (message.error && message.status === "pending") {
    // A retryable failure: the outbox tries again by itself, so this is news, not an error.
    item.append(element("p", "message__waiting", t("message.waiting", { reason: message.error })));
  } else if (message.error) {
    item.append(element("p", "message__error", message.error));
  }
  if (message.status === "failed" && message.outbox_id) {
    const retry = element("button", "message__retry", t("message.retry"));
    retry.type = "button";
    retry.addEventListener("click", () => retrySend(message.outbox_id));
    item.append(retry);
  }
  if (message.id && !message.deleted) {
    // Any message can be answered with a quote; only the team's own can be deleted.
    if (offers("reply")) item.append(messageAction(t("message.reply"), () => thread.onReply(message)));
    if (message.direction === "out" && offers("delete")) {
      item.append(messageAction(t("message.delete"), () => askDelete(message)));
    }
  }
  return item;
}

/** Whether the open conversation's account offers `feature`. */
function offers(feature) {
  return thread.account?.features?.[feature]?.enabled !== false;
}

function messageAction(label, onClick) {
  const button = element("button", "message__action secondary", label);
  button.type = "button";
  button.addEventListener("click", onClick);
  return button;
}

/** A message's text cut for a quote line. */
function excerpt(message) {
  const text = message.text?.replace(/\s+/g, " ").trim() || t("message.file");
  return text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text;
}

/** The line above a reply naming the message it answers (when that one is loaded). */
function renderQuote(replyTo) {
  const quoted = thread.messages.find((message) => message.id === replyTo);
  const quote = element("p", "message__quote", quoted ? t("message.quoted", { text: excerpt(quoted) }) : t("message.quotedUnknown"));
  quote.dir = "auto";
  return quote;
}

/** Asks before deleting one of the team's sent messages. */
function askDelete(message) {
  $("delete-message").dataset.messageId = message.id;
  $("delete-message-text").textContent = t("message.deleteText", { text: excerpt(message) });
  $("delete-message-error").textContent = "";
  $("delete-message").showModal();
}

async function deleteMessage(event) {
  event.preventDefault();
  const conversation = thread.conversation;
  const messageId = $("delete-message").dataset.messageId;
  if (!conversation || !messageId) return;
  try {
    await invoke("messages_delete", { account: conversation.account, id: conversation.id, messageId });
    $("delete-message").close();
  } catch (error) {
    $("delete-message-error").textContent = error?.message ?? String(error);
    return;
  }
  await refreshThread().catch(thread.onError);
}

/** The text as text nodes, with http(s) URLs as links that open in the system browser on a click. */
function renderText(text) {
  const paragraph = element("p", "message__text");
  paragraph.dir = "auto";
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    paragraph.append(document.createTextNode(text.slice(last, match.index)));
    paragraph.append(renderLink(match[0]));
    last = match.index + match[0].length;
  }
  paragraph.append(document.createTextNode(text.slice(last)));
  return paragraph;
}

function renderLink(url) {
  const link = element("a", "message__link", url);
  link.href = url;
  link.title = t("message.openLink", { url });
  link.rel = "noreferrer noopener";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    invoke("links_open", { url }).catch(thread.onError);
  });
  return link;
}

function renderAttachment(message, attachment, position) {
  const box = element("div", "message__file");
  const details = [size(attachment.size), attachment.mime].filter(Boolean).join(", ");
  box.append(element("span", "message__file-name", `📎 ${attachment.name ?? t("message.file")}${details ? ` (${details})` : ""}`));
  if (!message.id) return box;
  const where = { account: thread.conversation.account, id: thread.conversation.id, messageId: message.id, position };
  box.append(fileButton(t("message.open"), "attachments_open", where), fileButton(t("message.save"), "attachments_save", where));
  if (IMAGE_TYPES.test(attachment.mime ?? "")) {
    const image = element("img", "message__preview");
    image.alt = attachment.name ?? "";
    image.dataset.where = JSON.stringify(where);
    const known = thread.previews.get(image.dataset.where);
    if (known) image.src = known;
    else previewObserver.observe(image);
    box.append(image);
  }
  return box;
}

function fileButton(label, command, where) {
  const button = element("button", "message__file-action secondary", label);
  button.type = "button";
  button.addEventListener("click", () => invoke(command, where).catch(thread.onError));
  return button;
}

/** Downloads (once) and shows the previews that scrolled into view. */
function loadVisiblePreviews(entries) {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const image = entry.target;
    previewObserver.unobserve(image);
    const generation = thread.generation;
    invoke("attachments_preview", JSON.parse(image.dataset.where))
      .then((bytes) => {
        if (generation !== thread.generation) return;
        const url = URL.createObjectURL(new Blob([bytes]));
        thread.previews.set(image.dataset.where, url);
        image.src = url;
      })
      .catch(() => image.remove());
  }
}

async function retrySend(outboxId) {
  try {
    await invoke("outbox_retry", { id: outboxId });
  } catch (error) {
    thread.onError(error);
  }
  await refreshThread();
}
