// Saved replies in the composer: a `/` at the start of the text opens a picker of the replies for the
// open conversation's account (and those for all accounts); what follows the `/` filters them by title
// and text. Up/Down move, Enter or Tab inserts the chosen reply with `{name}` filled with the contact's
// name (by the core), replacing the `/query`; Escape closes; a click works too. Reply titles and texts
// are the team's, but still only set with textContent.

import { invoke } from "./ipc.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";

/** How much of a reply's text a picker row shows. */
const EXCERPT_CHARS = 90;
/** Most rows the picker shows. */
const MAX_ROWS = 8;

const $ = (id) => document.getElementById(id);

const picker = {
  textarea: null,
  conversation: null,
  /** The replies offered for the open conversation's account, loaded when the picker opens. */
  replies: null,
  /** The rows shown now. */
  shown: [],
  active: 0,
  open: false,
  /** Set by Escape: the picker stays closed until the text no longer starts with `/`. */
  dismissed: false,
  /** Bumped whenever the picker closes or the conversation changes, so late answers are dropped. */
  generation: 0,
  onError: () => {},
};

/** Wires the picker to the composer's text box. */
export function initReplyPicker(textarea, onError) {
  picker.textarea = textarea;
  picker.onError = onError;
  textarea.addEventListener("input", update);
  textarea.addEventListener("click", update);
  textarea.addEventListener("keydown", onKeyDown);
  textarea.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== textarea) close();
  }, 150));
}

/** The composer switched to `conversation`: its account's replies are offered from now on. */
export function showReplyPicker(conversation) {
  picker.conversation = conversation;
  picker.replies = null;
  picker.dismissed = false;
  close();
}

/** Forgets the loaded replies (the settings view changed them). */
export function forgetReplies() {
  picker.replies = null;
}

/** The `/query` before the caret, or null when the picker does not apply. */
function query() {
  const textarea = picker.textarea;
  const before = textarea.value.slice(0, textarea.selectionStart ?? textarea.value.length);
  return before.startsWith("/") && !before.includes("\n") ? before.slice(1) : null;
}

async function update() {
  const typed = query();
  if (typed === null) {
    picker.dismissed = false;
    close();
    return;
  }
  if (picker.dismissed || !picker.conversation) return;
  if (!picker.replies) {
    const generation = picker.generation;
    const conversation = picker.conversation;
    try {
      const replies = await invoke("replies_list", { account: conversation.account });
      if (generation !== picker.generation || conversation !== picker.conversation) return;
      picker.replies = replies;
    } catch (error) {
      picker.onError(error);
      return;
    }
    if (query() === null) return;
  }
  render(query());
}

function matches(reply, needle) {
  if (!needle) return true;
  return reply.title.toLowerCase().includes(needle) || reply.text.toLowerCase().includes(needle);
}

function render(typed) {
  const needle = (typed ?? "").trim().toLowerCase();
  const shown = picker.replies.filter((reply) => matches(reply, needle)).slice(0, MAX_ROWS);
  if (!shown.some((_, index) => index === picker.active)) picker.active = 0;
  picker.shown = shown;
  picker.open = true;
  const list = $("reply-picker");
  const rows = shown.map((reply, index) => {
    const row = element("li", "reply-picker__item");
    row.id = `reply-option-${index}`;
    row.setAttribute("role", "option");
    row.setAttribute("aria-selected", String(index === picker.active));
    row.dataset.replyId = String(reply.id);
    const text = reply.text.replace(/\s+/g, " ").trim();
    row.append(
      element("span", "reply-picker__title", reply.title),
      element("span", "reply-picker__text", text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text),
    );
    // mousedown, not click: the text box must not lose its caret first.
    row.addEventListener("mousedown", (event) => {
      event.preventDefault();
      picker.active = index;
      insert();
    });
    return row;
  });
  if (rows.length === 0) {
    const empty = picker.replies.length === 0 ? t("replies.noneYet") : t("replies.noMatch");
    rows.push(element("li", "reply-picker__empty", empty));
  }
  list.replaceChildren(...rows);
  list.hidden = false;
  // (No aria-expanded: a textarea's textbox role does not take it; the listbox's visibility and
  // the active option say what is offered.)
  if (shown.length > 0) picker.textarea.setAttribute("aria-activedescendant", `reply-option-${picker.active}`);
  else picker.textarea.removeAttribute("aria-activedescendant");
}

function close() {
  picker.generation += 1;
  picker.open = false;
  picker.shown = [];
  picker.active = 0;
  const list = $("reply-picker");
  if (list) {
    list.hidden = true;
    list.replaceChildren();
  }
  picker.textarea?.removeAttribute("aria-activedescendant");
}

function onKeyDown(event) {
  if (!picker.open || event.ctrlKey || event.altKey || event.metaKey) return;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    if (picker.shown.length === 0) return;
    const step = event.key === "ArrowDown" ? 1 : -1;
    picker.active = (picker.active + step + picker.shown.length) % picker.shown.length;
    render(query());
  } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
    if (picker.shown.length === 0) return;
    event.preventDefault();
    insert();
  } else if (event.key === "Escape") {
    // Closes the picker only (not the window's dialogs).
    event.preventDefault();
    event.stopPropagation();
    picker.dismissed = true;
    close();
  }
}

/** Replaces the `/query` with the chosen reply, `{name}` filled by the core. */
async function insert() {
  const reply = picker.shown[picker.active];
  const conversation = picker.conversation;
  if (!reply || !conversation) return;
  const generation = picker.generation;
  let text;
  try {
    text = await invoke("replies_fill", { account: conversation.account, id: conversation.id, replyId: reply.id });
  } catch (error) {
    picker.onError(error);
    return;
  }
  if (generation !== picker.generation || conversation !== picker.conversation) return;
  const textarea = picker.textarea;
  const caret = textarea.selectionStart ?? textarea.value.length;
  if (query() === null) return;
  close();
  textarea.value = text + textarea.value.slice(caret);
  textarea.setSelectionRange(text.length, text.length);
  textarea.focus();
  // The draft is saved as if typed; a filled text starting with "/" does not reopen the picker.
  picker.dismissed = text.startsWith("/");
  textarea.dispatchEvent(new Event("input"));
}
