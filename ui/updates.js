// Updates: the banner above the inbox when a newer Parley is on offer (its version, its release notes
// as text, "Install and restart" with the download's progress, and what went wrong if it did), and
// the settings view's "Check for updates". The Rust side (src-tauri/src/updates.rs) checks at start
// and daily and sends every change as the `updates-status` event; release notes come from a server,
// so they only ever reach the page through textContent.

import { invoke, listen } from "./ipc.js";
import { plainError } from "./errors.js";
import { size } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

/** The failures the banner explains (a failed background check is only shown where asked for). */
const INSTALL_PROBLEMS = ["signature", "download", "install"];

const updates = {
  /** The last status from the Rust side. */
  status: null,
  /** The version the user put off with "Later" (until it changes or they check by hand). */
  dismissed: null,
};

/** Wires the banner and shows what the Rust side already knows. */
export async function initUpdates() {
  $("update-install").addEventListener("click", install);
  $("update-later").addEventListener("click", () => {
    updates.dismissed = updates.status?.offer?.version ?? null;
    render();
  });
  listen("updates-status", (status) => {
    updates.status = status;
    render();
  });
  try {
    updates.status = await invoke("updates_status");
    render();
  } catch {
    // Outside the app (a browser preview) there is nothing to show.
  }
}

/** Fills the settings view's updates part: the running version and whether updates are set up. */
export async function showUpdatesInSettings() {
  const status = updates.status ?? (await invoke("updates_status").catch(() => null));
  if (!status) return;
  $("updates-current").textContent = t("updates.current", { version: status.current_version });
  $("updates-check").disabled = !status.configured;
  $("updates-check-status").textContent = status.configured ? "" : t("updates.notConfigured");
}

/** Settings → Check for updates: asks now and says what came of it. */
export async function checkForUpdates() {
  const said = $("updates-check-status");
  said.textContent = t("updates.checking");
  const status = await invoke("updates_check").catch((error) => {
    said.textContent = plainError(error);
    return null;
  });
  if (!status) return;
  updates.status = status;
  updates.dismissed = null;
  render();
  said.textContent = checkOutcome(status);
}

/** What a check the user asked for found, in a sentence. */
function checkOutcome(status) {
  if (!status.configured) return t("updates.notConfigured");
  if (status.phase === "checking") return t("updates.checking");
  if (status.problem?.kind === "check_failed") {
    return `${t("updates.failed.check_failed")} ${t("updates.detail", { detail: status.problem.detail })}`;
  }
  if (status.offer) return t("updates.available", { version: status.offer.version });
  return t("updates.upToDate", { version: status.current_version });
}

async function install() {
  $("update-install").disabled = true;
  const status = await invoke("updates_install").catch(() => null);
  if (status) {
    updates.status = status;
    render();
  }
}

/** Shows the banner as the last status says. */
function render() {
  const status = updates.status;
  const banner = $("update-banner");
  const busy = ["downloading", "installing", "restarting"].includes(status?.phase);
  const offer = status?.offer;
  banner.hidden = !offer || (!busy && updates.dismissed === offer.version);
  if (banner.hidden) return;
  $("update-title").textContent = t("updates.available", { version: offer.version });
  $("update-state").textContent = stateText(status, offer.version);
  showProgress(status);
  $("update-install").disabled = status.phase !== "idle";
  $("update-install").hidden = status.phase === "restarting";
  $("update-later").hidden = busy;
  showProblem(status);
  $("update-notes").textContent = offer.notes;
  $("update-notes-box").hidden = offer.notes === "";
}

/** The words beside the title while something happens. */
function stateText(status, version) {
  const progress = status.progress;
  switch (status.phase) {
    case "downloading":
      if (progress?.total) {
        return t("updates.downloading", { version, percent: percentOf(progress) });
      }
      return t("updates.downloadingSize", { version, size: size(progress?.downloaded ?? 0) });
    case "installing":
      return t("updates.installing", { version });
    case "restarting":
      return t("updates.restarting", { version });
    default:
      return "";
  }
}

function percentOf(progress) {
  return Math.min(100, Math.floor((progress.downloaded * 100) / progress.total));
}

function showProgress(status) {
  const bar = $("update-progress");
  const progress = status.progress;
  bar.hidden = status.phase !== "downloading" || !progress?.total;
  if (!bar.hidden) bar.value = percentOf(progress);
}

/** Why the last install did not happen, and that the installed Parley is as it was. */
function showProblem(status) {
  const problem = status.problem;
  const shown = problem && INSTALL_PROBLEMS.includes(problem.kind);
  $("update-problem").hidden = !shown;
  $("update-detail").hidden = !shown;
  if (!shown) return;
  $("update-problem").textContent = t(`updates.failed.${problem.kind}`, { current: status.current_version });
  $("update-detail").textContent = t("updates.detail", { detail: problem.detail });
}
