// Every string the window shows, in English and Russian, picked from the OS locale. Elements in
// index.html name their string with data-i18n (text), data-i18n-placeholder, data-i18n-title or
// data-i18n-label (aria-label); scripts call t(key, params).

const en = {
  "app.name": "Parley",
  "offline.banner": "Offline: showing the cached inbox. Replies wait in the outbox and go out when the connection returns.",
  "sidebar.all": "All accounts",
  "sidebar.syncNow": "Sync now",
  "sidebar.addAccount": "Add account",
  "sidebar.accountsLabel": "Accounts and companies",
  "search.placeholder": "Search messages (Ctrl+K)",
  "search.none": "Nothing found in the cached messages.",
  "search.conversationMatch": "Conversation name matches",
  "filter.all": "All",
  "filter.mine": "Mine",
  "filter.unassigned": "Unassigned",
  "filter.label": "Show conversations",
  "filter.myId": "My user id…",
  "list.empty": "No conversations here.",
  "list.count": "{shown} conversations",
  "conversation.noName": "(no name)",
  "conversation.assignee": "→ {id}",
  "conversation.files": "📎 file",
  "conversation.you": "You: ",
  "thread.choose": "Choose a conversation",
  "thread.note": "Note: {note}",
  "thread.assignee": "Assigned to {id}",
  "thread.unassigned": "Unassigned",
  "thread.loadingOlder": "Loading older messages…",
  "thread.historyStart": "Start of the cached history",
  "thread.label": "Messages",
  "status.received": "received",
  "status.pending": "pending",
  "status.sent": "sent",
  "status.delivered": "delivered",
  "status.failed": "failed",
  "status.uploadingPercent": "uploading file {current} of {total}: {percent} %",
  "message.retry": "Retry",
  "message.waiting": "Not sent yet; Parley keeps trying. Last attempt: {reason}",
  "message.file": "file",
  "message.open": "Open",
  "message.save": "Save",
  "message.openLink": "Opens in your browser: {url}",
  "composer.placeholder": "Write a reply (Ctrl+Enter sends)",
  "composer.attach": "Attach…",
  "composer.attachTitle": "Attach files (or drop them on the window)",
  "composer.send": "Send",
  "composer.filesLabel": "Files to send",
  "composer.remove": "Remove {name}",
  "composer.dropFirst": "Open a conversation first, then drop files on the window to attach them.",
  "composer.draftSaved": "Draft saved",
  "actions.assignLabel": "Assignee (user id)",
  "actions.assign": "Assign",
  "actions.noteLabel": "Note",
  "actions.saveNote": "Save note",
  "actions.bitrix": "Block Bitrix openlines",
  "actions.assigned": "Assigned to {id}.",
  "actions.noteSaved": "Note saved.",
  "actions.bitrixSaved": "Bitrix openlines: {state}.",
  "actions.blocked": "blocked",
  "actions.unblocked": "not blocked",
  "actions.needId": "Enter a user id.",
  "sync.running": "Syncing…",
  "sync.progress": "Syncing {account}: {done}/{total}",
  "sync.done": "Up to date · {count} new",
  "sync.upToDate": "Up to date · {time}",
  "account.title": "Add an account",
  "account.provider": "Provider",
  "account.name": "Name",
  "account.token": "API token",
  "account.baseUrl": "Server address (optional)",
  "account.username": "Username (empty: sign in with an access key)",
  "account.removeTitle": "Remove the account?",
  "account.removeFor": "Remove the account {name}",
  "account.removeText": "\u201c{name}\u201d leaves this computer: its cached conversations, queued replies and downloaded files are deleted, and its secret is removed from the keyring. Nothing changes on the server.",
  "account.remove": "Remove",
  "account.accessKey": "Access key",
  "account.password": "Password",
  "actions.unassign": "Unassign",
  "actions.unassigned": "Assignment cleared.",
  "unsupported.voipbin.attachments": "VoIPbin's API sends text only: files cannot be attached.",
  "unsupported.voipbin.notes": "VoIPbin conversations have no notes.",
  "unsupported.voipbin.bitrix": "Bitrix openlines are a Pact feature, not VoIPbin's.",
  "unsupported.pact-p1.unassign": "Pact's API v1 cannot clear an assignment; assign someone else instead.",
  "account.cancel": "Cancel",
  "account.add": "Add",
  "myId.title": "Your user id",
  "myId.explain": "The server cannot tell Parley who you are. Enter your user id on each account, so “Mine” shows the conversations assigned to you. Leave a field empty if you have no id there.",
  "myId.save": "Save",
  "myId.cancel": "Cancel",
  "error.unavailable": "Not running inside the Parley app.",
};

const ru = {
  "app.name": "Parley",
  "offline.banner": "Нет связи: показан сохранённый список. Ответы ждут в очереди и уйдут, когда связь вернётся.",
  "sidebar.all": "Все аккаунты",
  "sidebar.syncNow": "Обновить",
  "sidebar.addAccount": "Добавить аккаунт",
  "sidebar.accountsLabel": "Аккаунты и компании",
  "search.placeholder": "Поиск по сообщениям (Ctrl+K)",
  "search.none": "В сохранённых сообщениях ничего не найдено.",
  "search.conversationMatch": "Совпадение в имени диалога",
  "filter.all": "Все",
  "filter.mine": "Мои",
  "filter.unassigned": "Без ответственного",
  "filter.label": "Показать диалоги",
  "filter.myId": "Мой ID…",
  "list.empty": "Здесь нет диалогов.",
  "list.count": "Диалогов: {shown}",
  "conversation.noName": "(без имени)",
  "conversation.assignee": "→ {id}",
  "conversation.files": "📎 файл",
  "conversation.you": "Вы: ",
  "thread.choose": "Выберите диалог",
  "thread.note": "Заметка: {note}",
  "thread.assignee": "Ответственный: {id}",
  "thread.unassigned": "Без ответственного",
  "thread.loadingOlder": "Загружаю более ранние сообщения…",
  "thread.historyStart": "Начало сохранённой истории",
  "thread.label": "Сообщения",
  "status.received": "получено",
  "status.pending": "отправляется",
  "status.sent": "отправлено",
  "status.delivered": "доставлено",
  "status.failed": "ошибка",
  "status.uploadingPercent": "загрузка файла {current} из {total}: {percent} %",
  "message.retry": "Повторить",
  "message.waiting": "Ещё не отправлено; Parley пробует снова. Последняя попытка: {reason}",
  "message.file": "файл",
  "message.open": "Открыть",
  "message.save": "Сохранить",
  "message.openLink": "Откроется в браузере: {url}",
  "composer.placeholder": "Напишите ответ (Ctrl+Enter — отправить)",
  "composer.attach": "Файл…",
  "composer.attachTitle": "Прикрепить файлы (или перетащите их в окно)",
  "composer.send": "Отправить",
  "composer.filesLabel": "Файлы к отправке",
  "composer.remove": "Убрать {name}",
  "composer.dropFirst": "Сначала откройте диалог, затем перетащите файлы в окно.",
  "composer.draftSaved": "Черновик сохранён",
  "actions.assignLabel": "Ответственный (ID)",
  "actions.assign": "Назначить",
  "actions.noteLabel": "Заметка",
  "actions.saveNote": "Сохранить заметку",
  "actions.bitrix": "Блокировать открытые линии Битрикс",
  "actions.assigned": "Назначено: {id}.",
  "actions.noteSaved": "Заметка сохранена.",
  "actions.bitrixSaved": "Открытые линии Битрикс: {state}.",
  "actions.blocked": "заблокированы",
  "actions.unblocked": "не заблокированы",
  "actions.needId": "Введите ID пользователя.",
  "sync.running": "Синхронизация…",
  "sync.progress": "Синхронизация {account}: {done}/{total}",
  "sync.done": "Всё обновлено · новых: {count}",
  "sync.upToDate": "Всё обновлено · {time}",
  "account.title": "Добавить аккаунт",
  "account.provider": "Сервис",
  "account.name": "Название",
  "account.token": "API-токен",
  "account.baseUrl": "Адрес сервера (необязательно)",
  "account.username": "Имя пользователя (пусто: вход по ключу доступа)",
  "account.removeTitle": "Удалить аккаунт?",
  "account.removeFor": "Удалить аккаунт {name}",
  "account.removeText": "\u00ab{name}\u00bb будет удалён с этого компьютера: кэш разговоров, неотправленные ответы и скачанные файлы удаляются, секрет — из хранилища ключей. На сервере ничего не меняется.",
  "account.remove": "Удалить",
  "account.accessKey": "Ключ доступа",
  "account.password": "Пароль",
  "actions.unassign": "Снять",
  "actions.unassigned": "Ответственный снят.",
  "unsupported.voipbin.attachments": "API VoIPbin отправляет только текст: файлы прикрепить нельзя.",
  "unsupported.voipbin.notes": "У разговоров VoIPbin нет заметок.",
  "unsupported.voipbin.bitrix": "Открытые линии Битрикс есть только в Pact, не в VoIPbin.",
  "unsupported.pact-p1.unassign": "API v1 Pact не умеет снимать ответственного; назначьте другого.",
  "account.cancel": "Отмена",
  "account.add": "Добавить",
  "myId.title": "Ваш ID пользователя",
  "myId.explain": "Сервер не сообщает Parley, кто вы. Укажите свой ID пользователя в каждом аккаунте, чтобы «Мои» показывал назначенные вам диалоги. Оставьте поле пустым, если ID там нет.",
  "myId.save": "Сохранить",
  "myId.cancel": "Отмена",
  "error.unavailable": "Окно запущено не внутри приложения Parley.",
};

const dictionaries = { en, ru };
let current = "en";

/** Picks English or Russian from a BCP-47 tag such as "ru-RU" (anything else is English). */
export function setLocale(tag) {
  current = String(tag ?? "").toLowerCase().startsWith("ru") ? "ru" : "en";
  document.documentElement.lang = current;
}

/** The language in use: "en" or "ru". */
export function language() {
  return current;
}

/**
 * The string `key` in the current language, with `{name}` replaced by `params.name`.
 * @param {string} key
 * @param {Record<string, unknown>} [params]
 */
export function t(key, params = {}) {
  const text = dictionaries[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

/**
 * Why a feature is off for an account, in the UI's language: the dictionary's
 * `unsupported.<provider>.<feature>` line, or the core's English reason when there is none.
 */
export function unsupportedReason(account, feature) {
  const key = `unsupported.${account.provider}.${feature}`;
  const text = t(key);
  return text === key ? account.features?.[feature]?.reason ?? "" : text;
}

/** Fills every data-i18n* marked element under `root` in the current language. */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
}
