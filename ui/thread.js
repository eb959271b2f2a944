// The open thread: messages under day separators (Today, Yesterday, then the date), consecutive ones
// from the same side grouped, each with its time and, for the team's, delivery ticks with an
// accessible name (failed ones spelled out, with the reason and a Retry), the message each one answers, a mark on deleted ones, Reply and Delete (after a confirm
// dialog) on the team's sent messages where the account offers them, attachments (media.js: image
// previews and viewer, players, file cards), and links that open in the system browser on a click. Older messages load when the reader scrolls to the top; the list keeps the
// reader's place when new messages arrive or older ones load. Customer content is set with textContent.

import { invoke } from "./ipc.js";
import { plainError } from "./errors.js";
import { clear, element } from "./dom.js";
import { forgetMedia, kindOf, renderAttachment, setThreadImages } from "./media.js";
import { language, t } from "./i18n.js";
import { daysAgo, fullTime, timeOfDay } from "./format.js";
import { teammateName } from "./actions.js";
import { myIdOf } from "./team.js";

/** Messages per page. */
export const THREAD_PAGE = 200;
/** Load older messages when the reader is this close (px) to the top. */
const NEAR_TOP = 300;
/** How many older pages a search hit may pull in to reach its message. */
const MAX_PAGES_TO_HIT = 25;
/** http(s) links in message text; trailing punctuation is left out. */
const LINK = /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}»]/g;
/** How much of a message's text a quote or the delete dialog shows. */
const QUOTE_CHARS = 80;
/** Messages from the same side this close together (ms) are drawn as one group. */
const GROUP_GAP_MS = 5 * 60 * 1000;
/** The ticks of a team message's delivery states (a failure is spelled out instead). */
const TICKS = { pending: "○", sent: "✓", delivered: "✓✓", read: "✓✓" };

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
  onError: () => {},
  /** Called with a message the user wants to answer. */
  onReply: () => {},
};

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
  forgetMedia();
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
    // Redrawn whole: the day separator and the grouping at the join change with the older page.
    drawAll();
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
  const label = t("status.uploadingPercent", { current: Math.min(done + 1, total), total, percent });
  let upload = meta.querySelector(".message__upload");
  if (!upload) {
    upload = element("span", "message__upload");
    meta.append(upload);
  }
  upload.textContent = ` · ${label}`;
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
    if (!node.dataset.key) continue;
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

/** Draws the whole thread: a separator before each new day, messages grouped within a few minutes. */
function drawAll() {
  const list = $("messages");
  clear(list);
  setThreadImages(threadImages());
  const nodes = [];
  let previous = null;
  for (const message of thread.messages) {
    const day = new Date(message.created_at);
    const newDay = !previous || daysAgo(new Date(previous.created_at), day) !== 0;
    if (newDay) nodes.push(daySeparator(day));
    const node = renderMessage(message);
    if (!newDay && sameGroup(previous, message)) node.classList.add("message--grouped");
    nodes.push(node);
    previous = message;
  }
  list.append(...nodes);
}

/** Where each image attachment of the shown messages is, oldest first (the viewer's ←/→). */
function threadImages() {
  const images = [];
  for (const message of thread.messages) {
    if (!message.id) continue;
    message.attachments.forEach((attachment, position) => {
      if (kindOf(attachment).kind === "image") images.push({ where: whereOf(message, position), name: attachment.name });
    });
  }
  return images;
}

/** The attachment's address for the commands: account, conversation, message and position. */
function whereOf(message, position) {
  return { account: thread.conversation.account, id: thread.conversation.id, messageId: message.id, position };
}

/** "Today", "Yesterday", else the date in the locale's form. */
function daySeparator(date) {
  const days = daysAgo(date);
  const label = days === 0 ? t("thread.today") : days === 1 ? t("thread.yesterday")
    : date.toLocaleDateString(language(), {
      weekday: "long", day: "numeric", month: "long",
      ...(date.getFullYear() === new Date().getFullYear() ? {} : { year: "numeric" }),
    });
  // A list item of its own (a list may hold only items), read as its text: "Today".
  const item = element("li", "day-separator");
  item.append(element("span", "", label));
  return item;
}

/** Whether `message` continues `previous`'s group: same side, a few minutes later, neither deleted. */
function sameGroup(previous, message) {
  if (!previous || previous.direction !== message.direction || previous.deleted) return false;
  const gap = new Date(message.created_at) - new Date(previous.created_at);
  return gap >= 0 && gap < GROUP_GAP_MS;
}

function renderMessage(message) {
  const item = element("li", `message message--${message.direction}`);
  item.dataset.key = keyOf(message);
  item.dataset.status = message.status;
  if (message.deleted) item.classList.add("message--deleted");
  if (message.reply_to) item.append(renderQuote(message.reply_to));
  if (message.text) item.append(renderText(message.text));
  message.attachments.forEach((attachment, position) => {
    item.append(renderAttachment(attachment, message.id ? whereOf(message, position) : null));
  });
  item.append(renderMeta(message));
  if (message.deleted) item.append(element("span", "message__deleted", t("message.deleted")));
  // Parley's own send failures are worded by their code; the detail stays in the log.
  const reason = message.error_code ? plainError({ code: message.error_code, message: message.error }) : message.error;
  if (reason && message.status === "pending") {
    // A retryable failure: the outbox tries again by itself, so this is news, not an error.
    item.append(element("p", "message__waiting", t("message.waiting", { reason })));
  } else if (reason) {
    item.append(element("p", "message__error", reason));
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

/**
 * Who sent the team's message, where that is known: neither Pact nor VoIPbin says which teammate sent
 * a reply, but the ones this computer's outbox sent are the agent's own (their name once named).
 */
function senderOf(message) {
  if (message.direction !== "out" || !message.outbox_id) return null;
  const account = thread.conversation?.account;
  return teammateName(account, myIdOf(account)) ?? t("message.sentByYou");
}

/** The sender (where known), the time (the full date as a tooltip) and, on the team's, the ticks. */
function renderMeta(message) {
  const meta = element("span", "message__meta");
  const sender = senderOf(message);
  // Said once per group: a grouped message hides it (style.css).
  if (sender) meta.append(element("span", "message__sender", `${sender} · `));
  const time = element("time", "", timeOfDay(message.created_at));
  time.dateTime = message.created_at;
  time.title = fullTime(message.created_at);
  meta.append(time);
  if (message.direction !== "out") return meta;
  const state = t(`status.${message.status}`);
  const tick = TICKS[message.status];
  meta.append(document.createTextNode(" · "));
  const status = element("span", `message__status message__status--${message.status}`, tick ?? state);
  if (tick) {
    status.setAttribute("role", "img");
    status.setAttribute("aria-label", state);
    status.title = state;
  }
  meta.append(status);
  return meta;
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
    $("delete-message-error").textContent = plainError(error);
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

async function retrySend(outboxId) {
  try {
    await invoke("outbox_retry", { id: outboxId });
  } catch (error) {
    thread.onError(error);
  }
  await refreshThread();
}
