// The team in Settings, per account: who "me" is (the agent's own user id, which "Mine", "Assign to
// me" and the notifications' "only mine" use) and the teammates' names. Pact has no list of users, so
// the user ids seen on its conversations are listed to be named once ("User 42" → Olga); VoIPbin
// names its agents itself, and the agent picks "me" among them by name. Names are kept by the core
// per account (teammates_label); "me" is the setting `my_user_id.<account>`. The ids the agent is
// known by are cached here, so rows and the header can say "Me" without asking the core each time.

import { invoke } from "./ipc.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";

/** The settings key prefix of the agent's own user id per account. */
export const MY_ID_PREFIX = "my_user_id.";

const $ = (id) => document.getElementById(id);

/** The agent's own user id per account name, as last loaded or saved. */
const myIds = new Map();

/** Loads the agent's own id on each of `accountNames` into the cache; returns [name, id] pairs. */
export async function loadMyIds(accountNames) {
  const ids = await Promise.all(
    accountNames.map((name) => invoke("settings_get", { key: MY_ID_PREFIX + name }).catch(() => null)),
  );
  myIds.clear();
  accountNames.forEach((name, index) => {
    if (ids[index]) myIds.set(name, ids[index]);
  });
  return accountNames.map((name) => [name, myIds.get(name) ?? ""]);
}

/** The agent's own user id on `account` as cached, or "". */
export function myIdOf(account) {
  return myIds.get(account) ?? "";
}

/** Keeps `id` as the agent's own user id on `account` ("" forgets it). */
export async function saveMyId(account, id) {
  const value = id.trim();
  await invoke("settings_set", { key: MY_ID_PREFIX + account, value });
  if (value) myIds.set(account, value);
  else myIds.delete(account);
}

/**
 * Fills the Settings' team section for `accounts` (the core's account list). `onChanged()` runs after
 * a name or "me" was saved; `onError(error)` when saving failed.
 */
export async function showTeamSettings(accounts, onChanged, onError) {
  const box = $("team-settings");
  const sections = await Promise.all(accounts.map((account) => accountSection(account, onChanged, onError)));
  box.replaceChildren(...sections);
  $("team-none").hidden = accounts.length > 0;
}

async function accountSection(account, onChanged, onError) {
  const section = element("fieldset", "team");
  section.append(element("legend", "team__account", account.name));
  const teammates = await invoke("teammates_list", { account: account.name }).catch(() => []);
  const listed = account.provider === "voipbin";
  section.append(listed ? pickMe(account, teammates, onChanged, onError) : typeMe(account, onChanged, onError));
  const rows = teammates.map((mate) => (mate.source === "provider" ? namedByProvider(mate) : nameable(account, mate, onChanged, onError)));
  if (rows.length === 0) section.append(element("p", "hint", t(listed ? "team.noneListed" : "team.noneSeen")));
  else {
    const list = element("ul", "team__list");
    list.append(...rows);
    section.append(list);
  }
  return section;
}

/** Pact: the agent types their own user id (they see it in Pact's web app). */
function typeMe(account, onChanged, onError) {
  const label = element("label", "settings__row team__me");
  const input = element("input");
  input.className = "team__me-input";
  input.value = myIdOf(account.name);
  input.maxLength = 32;
  input.autocomplete = "off";
  input.inputMode = "numeric";
  input.dataset.account = account.name;
  input.addEventListener("change", () => saveMyId(account.name, input.value).then(onChanged, onError));
  label.append(element("span", "team__id", t("team.myId")), input);
  return label;
}

/** VoIPbin: the agent picks themselves among its agents, by name. */
function pickMe(account, teammates, onChanged, onError) {
  const label = element("label", "settings__row team__me");
  const select = element("select");
  select.className = "team__me-select";
  select.dataset.account = account.name;
  const none = element("option", "", t("team.notSet"));
  none.value = "";
  select.append(none, ...teammates.filter((mate) => mate.name).map((mate) => {
    const option = element("option", "", mate.name);
    option.value = mate.id;
    return option;
  }));
  select.value = myIdOf(account.name);
  select.addEventListener("change", () => saveMyId(account.name, select.value).then(onChanged, onError));
  label.append(element("span", "team__id", t("team.iAm")), select);
  return label;
}

/** A teammate the provider names (VoIPbin's agents): shown as it is. */
function namedByProvider(mate) {
  return element("li", "team__mate", mate.name);
}

/** A user id seen on conversations (or named before): "User 42" and a box for the name. */
function nameable(account, mate, onChanged, onError) {
  const row = element("li", "team__mate");
  const label = element("label", "settings__row");
  const input = element("input");
  input.className = "team__name";
  input.value = mate.name;
  input.maxLength = 100;
  input.autocomplete = "off";
  input.placeholder = t("team.namePlaceholder");
  input.dataset.account = account.name;
  input.dataset.userId = mate.id;
  input.addEventListener("change", () => {
    invoke("teammates_label", { account: account.name, userId: mate.id, name: input.value.trim() || null })
      .then(onChanged, onError);
  });
  const who = mate.id === myIdOf(account.name) ? t("team.userYou", { id: mate.id }) : t("actions.userId", { id: mate.id });
  label.append(element("span", "team__id", who), input);
  row.append(label);
  return row;
}
