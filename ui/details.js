// The details panel beside the thread: who the contact is (name, messenger, phone or username,
// account), the note and the Bitrix switch (actions.js wires those), Copy link (deeplink.js), and
// the other conversations with the same contact. It folds away with its button and remembers
// whether it is open (the core's settings). Customer content is set with textContent only.

import { invoke } from "./ipc.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";
import { channelName, relativeTime } from "./format.js";

/** The settings key saying whether the panel is open ("1") or folded (""). */
const OPEN_KEY = "details_open";

const $ = (id) => document.getElementById(id);

const details = {
  conversation: null,
  /** Bumped per shown conversation, so a late answer for the one before is dropped. */
  generation: 0,
  onOpenConversation: () => {},
};

/** Wires the fold button; `onOpenConversation(account, id)` opens a past conversation. */
export function initDetails(onOpenConversation) {
  details.onOpenConversation = onOpenConversation;
  $("details-toggle").addEventListener("click", () => setOpen($("details").hidden, true));
  invoke("settings_get", { key: OPEN_KEY })
    .then((value) => setOpen(value === "1", false))
    .catch(() => {});
}

/** Opens or folds the panel; `remember` keeps the choice for the next start. */
function setOpen(open, remember) {
  $("details").hidden = !open || !details.conversation;
  $("details").dataset.wanted = open ? "1" : "";
  $("details-toggle").setAttribute("aria-expanded", String(open));
  if (open && details.conversation) loadRelated(details.conversation);
  if (remember) invoke("settings_set", { key: OPEN_KEY, value: open ? "1" : "" }).catch(() => {});
}

/** Fills the panel for `conversation` (its contact facts at once, past conversations after). */
export function showDetails(conversation) {
  details.conversation = conversation;
  $("details-toggle").hidden = false;
  $("details").hidden = $("details").dataset.wanted !== "1";
  const facts = [
    [t("details.name"), conversation.title ?? t("conversation.noName")],
    [t("details.messenger"), channelName(conversation.channel)],
    [t("details.handle"), conversation.contact],
    [t("details.account"), conversation.account],
  ].filter(([, value]) => value);
  $("details-contact").replaceChildren(...facts.flatMap(([label, value]) => {
    const shown = element("dd", "", value);
    shown.dir = "auto";
    return [element("dt", "", label), shown];
  }));
  $("details-related").replaceChildren();
  $("details-related-none").hidden = true;
  if (!$("details").hidden) loadRelated(conversation);
}

async function loadRelated(conversation) {
  const generation = ++details.generation;
  let related = [];
  try {
    related = await invoke("conversations_related", { account: conversation.account, id: conversation.id });
  } catch {
    related = [];
  }
  if (generation !== details.generation) return;
  $("details-related").replaceChildren(...related.map(relatedItem));
  $("details-related-none").hidden = related.length > 0;
}

function relatedItem(conversation) {
  const item = element("li");
  const button = element("button", "details__past secondary");
  button.type = "button";
  const title = element("span", "details__past-title", [channelName(conversation.channel), conversation.account].join(" · "));
  const preview = element("span", "details__past-preview", conversation.preview?.replace(/\s+/g, " ").trim() ?? "");
  preview.dir = "auto";
  button.append(title, element("span", "details__past-time", relativeTime(conversation.last_message_at)), preview);
  button.addEventListener("click", () => details.onOpenConversation(conversation.account, conversation.id));
  item.append(button);
  return item;
}
