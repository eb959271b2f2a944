// Search over the cached messages (the core's full-text index). Results replace the conversation list
// while the box holds a query; picking one opens its conversation at that message.

import { invoke } from "./ipc.js";
import { clear, element, when } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const LIMIT = 50;
let timer = 0;
let latest = 0;

/**
 * Wires the search box. `onPick(account, id, messageId)` opens a hit.
 * @param {{ onPick: (account: string, id: string, messageId: string | null) => void, onError: (e: unknown) => void }} hooks
 */
export function initSearch(hooks) {
  $("search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => run(hooks), 200);
  });
  $("search").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && $("search").value) {
      event.stopPropagation();
      $("search").value = "";
      run(hooks);
    }
  });
}

/** Puts the cursor in the search box (Ctrl+K). */
export function focusSearch() {
  $("search").focus();
  $("search").select();
}

async function run(hooks) {
  const query = $("search").value.trim();
  const request = ++latest;
  if (!query) {
    showResults(false);
    return;
  }
  try {
    const hits = await invoke("search_query", { query, limit: LIMIT });
    if (request === latest) render(hits, hooks);
  } catch (error) {
    hooks.onError(error);
  }
}

function showResults(shown) {
  $("search-results").hidden = !shown;
  $("conversations").hidden = shown;
  $("list-empty").hidden = true;
}

function render(hits, hooks) {
  const results = $("search-results");
  clear(results);
  showResults(true);
  if (hits.length === 0) {
    results.append(element("li", "search-hit search-hit--none", t("search.none")));
    return;
  }
  const titles = new Map();
  for (const hit of hits) {
    const id = hit.conversation.slice(hit.account.length + 1);
    const item = element("li", "search-hit");
    const title = element("span", "search-hit__title", hit.conversation);
    item.append(
      title,
      element("span", "search-hit__time", when(hit.created_at)),
      element("span", "search-hit__snippet", hit.message_id ? hit.snippet : t("search.conversationMatch")),
    );
    item.tabIndex = 0;
    const pick = () => hooks.onPick(hit.account, id, hit.message_id);
    item.addEventListener("click", pick);
    item.addEventListener("keydown", (event) => {
      if (event.key === "Enter") pick();
    });
    results.append(item);
    if (!titles.has(hit.conversation)) titles.set(hit.conversation, []);
    titles.get(hit.conversation).push(title);
  }
  for (const [conversation, nodes] of titles) nameHits(conversation, nodes);
}

/** Replaces `ACCOUNT/ID` with the contact's name once it is looked up. */
async function nameHits(conversation, nodes) {
  const cut = conversation.lastIndexOf("/");
  try {
    const summary = await invoke("conversations_get", {
      account: conversation.slice(0, cut),
      id: conversation.slice(cut + 1),
    });
    for (const node of nodes) node.textContent = summary.title ?? t("conversation.noName");
  } catch {
    // The id stays shown.
  }
}
