// The composer: multi-line text (Ctrl+Enter sends), a draft per conversation kept in the core across
// restarts (saved shortly after typing stops), staged files with name, size and a remove button, a quoted
// message to answer (shown above, with a remove button), and sending through the outbox (so it also
// works offline).

import { invoke } from "./ipc.js";
import { clear, element, size } from "./dom.js";
import { t, unsupportedReason } from "./i18n.js";

/** How much of a quoted message's text the composer shows. */
const QUOTE_CHARS = 80;
/** Wait after the last keystroke before the draft is saved. */
const DRAFT_DELAY_MS = 400;

const $ = (id) => document.getElementById(id);

const composer = {
  conversation: null,
  /** Why files cannot be attached in the open conversation ("" when they can). */
  noFilesReason: "",
  /** Staged files per conversation key. */
  staged: new Map(),
  /** The message being answered per conversation key: `{ id, text }`. */
  replies: new Map(),
  draftTimer: 0,
  /** The conversation a pending draft save belongs to. */
  draftFor: null,
  onSent: async () => {},
  onError: () => {},
};

function keyOf(conversation) {
  return `${conversation.account}/${conversation.id}`;
}

function stagedFiles() {
  if (!composer.conversation) return [];
  const key = keyOf(composer.conversation);
  if (!composer.staged.has(key)) composer.staged.set(key, []);
  return composer.staged.get(key);
}

/**
 * Wires the composer. `onSent()` runs after a message is queued (the thread reloads).
 * @param {{ onSent: () => Promise<void>, onError: (e: unknown) => void }} hooks
 */
export function initComposer(hooks) {
  composer.onSent = hooks.onSent;
  composer.onError = hooks.onError;
  $("composer").addEventListener("submit", send);
  const textarea = $("composer-text");
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.ctrlKey) send(event);
  });
  textarea.addEventListener("input", scheduleDraftSave);
  $("attach").addEventListener("click", pickFiles);
  $("composer-quote-remove").addEventListener("click", () => {
    if (composer.conversation) composer.replies.delete(keyOf(composer.conversation));
    renderQuote();
  });
  window.addEventListener("beforeunload", () => flushDraft());
}

/**
 * Switches the composer to `conversation`: saves the previous draft, loads this one's. `account`
 * (from accounts_list) says whether its provider takes files; where it does not, Attach stays
 * disabled with the reason shown under the composer.
 */
export async function showComposer(conversation, account) {
  await flushDraft();
  composer.conversation = conversation;
  const textarea = $("composer-text");
  textarea.value = "";
  const filesOffered = account?.features?.attachments?.enabled !== false;
  composer.noFilesReason = filesOffered ? "" : unsupportedReason(account, "attachments");
  for (const id of ["composer-text", "composer-send"]) $(id).disabled = false;
  $("attach").disabled = !filesOffered;
  $("attach").title = filesOffered ? t("composer.attachTitle") : composer.noFilesReason;
  $("composer-hint").textContent = composer.noFilesReason;
  $("composer-hint").hidden = filesOffered;
  renderStaged();
  renderQuote();
  try {
    const draft = await invoke("drafts_get", { account: conversation.account, id: conversation.id });
    // The user may have typed or switched while the draft loaded.
    if (composer.conversation === conversation && !textarea.value) textarea.value = draft ?? "";
  } catch (error) {
    composer.onError(error);
  }
}

/** Adds files to the open conversation's composer, skipping ones already staged. */
export function stageFiles(files) {
  if (!composer.conversation) {
    composer.onError({ message: t("composer.dropFirst") });
    return;
  }
  if (composer.noFilesReason) {
    composer.onError({ message: composer.noFilesReason });
    return;
  }
  const staged = stagedFiles();
  for (const file of files) {
    if (!staged.some((known) => known.path === file.path)) staged.push(file);
  }
  renderStaged();
}

/** Quotes `message` (a thread message with an id) in the open conversation's next send. */
export function stageReply(message) {
  if (!composer.conversation || !message.id) return;
  const text = message.text?.replace(/\s+/g, " ").trim() || t("message.file");
  const short = text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text;
  composer.replies.set(keyOf(composer.conversation), { id: message.id, text: short });
  renderQuote();
  $("composer-text").focus();
}

function renderQuote() {
  const reply = composer.conversation ? composer.replies.get(keyOf(composer.conversation)) : null;
  $("composer-quote").hidden = !reply;
  $("composer-quote-text").textContent = reply ? t("composer.replyingTo", { text: reply.text }) : "";
}

function renderStaged() {
  const list = $("staged-files");
  clear(list);
  stagedFiles().forEach((file, index, staged) => {
    const item = element("li", "staged__file");
    item.append(element("span", "staged__name", file.name), element("span", "staged__size", size(file.size)));
    const remove = element("button", "staged__remove secondary", "×");
    remove.type = "button";
    remove.title = t("composer.remove", { name: file.name });
    remove.setAttribute("aria-label", remove.title);
    remove.addEventListener("click", () => {
      staged.splice(index, 1);
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
    composer.onError(error);
  }
}

function scheduleDraftSave() {
  clearTimeout(composer.draftTimer);
  composer.draftFor = composer.conversation;
  composer.draftTimer = setTimeout(flushDraft, DRAFT_DELAY_MS);
}

/** Saves a draft still waiting for its timer, now. */
async function flushDraft() {
  clearTimeout(composer.draftTimer);
  const conversation = composer.draftFor;
  composer.draftFor = null;
  if (!conversation) return;
  const text = $("composer-text").value;
  await saveDraft(conversation, text);
}

async function saveDraft(conversation, text) {
  try {
    await invoke("drafts_save", { account: conversation.account, id: conversation.id, text });
  } catch (error) {
    composer.onError(error);
  }
}

async function send(event) {
  event?.preventDefault();
  const conversation = composer.conversation;
  const textarea = $("composer-text");
  const text = textarea.value.trim();
  const staged = stagedFiles();
  if (!conversation || (!text && staged.length === 0)) return;
  const reply = composer.replies.get(keyOf(conversation));
  try {
    await invoke("messages_send", {
      account: conversation.account,
      id: conversation.id,
      text: text || null,
      files: staged.map((file) => file.path),
      replyTo: reply?.id ?? null,
    });
    clearTimeout(composer.draftTimer);
    composer.draftFor = null;
    textarea.value = "";
    staged.length = 0;
    composer.replies.delete(keyOf(conversation));
    renderStaged();
    renderQuote();
    await saveDraft(conversation, "");
    await composer.onSent();
  } catch (error) {
    composer.onError(error);
  }
}
