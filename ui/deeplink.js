// parley://open/ACCOUNT/ID links in the window. The backend checks each link (src-tauri/src/deep_link.rs)
// and sends what became of it: a conversation to open, or a refusal shown as a notice that changes
// nothing else. The link the app was started with is asked for once the inbox is ready. Copy link in
// the thread's header puts the open conversation's link on the clipboard.

import { invoke, listen } from "./ipc.js";
import { t } from "./i18n.js";
import { writeClipboard } from "./settings.js";

const $ = (id) => document.getElementById(id);
let shown = null;

/**
 * Wires the notice and Copy link. `openConversation(account, id)` opens a conversation.
 * @param {(account: string, id: string) => Promise<void>} openConversation
 */
export function initDeepLinks(openConversation) {
  const handle = (outcome) => {
    if (outcome?.kind === "open") {
      $("deep-link-banner").hidden = true;
      for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
      return openConversation(outcome.account, outcome.id);
    }
    if (outcome?.kind === "refused") showRefusal(outcome);
  };
  listen("deep-link", handle);
  $("deep-link-dismiss").addEventListener("click", () => { $("deep-link-banner").hidden = true; });
  $("copy-link").addEventListener("click", copyLink);
  return {
    /** The inbox is shown: open the link the app was started with, if any. */
    ready: () => invoke("deep_link_ready").then(handle),
  };
}

function showRefusal({ reason, account, id }) {
  $("deep-link-text").textContent = t(`link.${reason}`, { account: account ?? "", id: id ?? "" });
  $("deep-link-banner").hidden = false;
}

/** Shows Copy link for the open conversation (null: none). */
export function showCopyLink(conversation) {
  shown = conversation;
  $("copy-link-row").hidden = !conversation;
  $("copy-link-status").textContent = "";
}

/** The clipboard is written while the click is handled (WebKit allows it only then). */
async function copyLink() {
  if (!shown) return;
  const status = $("copy-link-status");
  const asked = invoke("deep_link_for", { account: shown.account, id: shown.id });
  try {
    await writeClipboard(asked);
    status.textContent = t("link.copied");
  } catch {
    status.textContent = t("link.copyFailed", { link: await asked.catch(() => "") });
  }
}
