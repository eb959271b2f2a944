/**
 * The notice shown when the local cache could not be used and was moved aside at start-up (damaged,
 * truncated, or written by a newer Parley): where the old file is, which accounts were kept, what
 * was lost, and a button that dismisses it for good.
 */

import { invoke } from "./ipc.js";
import { t, tn } from "./i18n.js";

const $ = (id) => document.getElementById(id);

/** Asks the core whether a cache was moved aside and shows the notice if so. */
export async function showCacheRecovery() {
  const recovery = await invoke("cache_recovery");
  if (!recovery) return;
  $("recovery-text").textContent = describe(recovery);
  $("recovery-banner").hidden = false;
  $("recovery-dismiss").addEventListener("click", dismiss, { once: true });
}

/** The notice's text, in the window's language, from the core's account of what happened. */
function describe(recovery) {
  const parts = [
    // The file's name only: the full path (a home or temporary folder) is for the log and diagnostics.
    t(recovery.kind === "newer" ? "recovery.newer" : "recovery.corrupt", { path: fileName(recovery.moved_to) }),
  ];
  // None kept reads the same whether the old accounts were unreadable or read as none: add them again.
  if (recovery.accounts_unreadable || recovery.accounts_kept.length === 0) parts.push(t("recovery.accountsLost"));
  else parts.push(t("recovery.accountsKept", { names: recovery.accounts_kept.join(", ") }));
  if (recovery.unsent_lost === null || recovery.unsent_lost === undefined) parts.push(t("recovery.unsentUnknown"));
  else if (recovery.unsent_lost > 0) parts.push(tn("recovery.unsentLost", recovery.unsent_lost));
  return parts.join(" ");
}

async function dismiss() {
  $("recovery-banner").hidden = true;
  await invoke("cache_acknowledge").catch(() => {});
}

/** The last part of a path (either separator). */
function fileName(path) {
  return String(path ?? "").split(/[\\/]/).filter(Boolean).pop() ?? "";
}
