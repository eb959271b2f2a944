//! Realistic (and deliberately hostile) text and file content for the seed data and live mode:
//! support chat in Russian and English, emoji, Arabic and Hebrew, long messages, injection strings.

use bytes::Bytes;
use rand::Rng;

/// Language a conversation is mostly written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Russian,
    English,
    Arabic,
    Hebrew,
}

impl Locale {
    /// Picks a locale with a realistic weight (most chats are Russian or English).
    pub fn pick(rng: &mut impl Rng) -> Locale {
        match rng.gen_range(0..100) {
            0..=47 => Locale::Russian,
            48..=85 => Locale::English,
            86..=93 => Locale::Arabic,
            _ => Locale::Hebrew,
        }
    }
}

/// Strings that must reach the UI as plain text and never be interpreted.
pub const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"quotes\" & ampersands",
    "'; DROP TABLE messages; --",
    "Robert'); DROP TABLE students;-- привет",
    "<a href=\"javascript:alert(document.cookie)\">click</a>",
    "{{constructor.constructor('alert(1)')()}} ${7*7}",
    "\u{202E}fdp.exe — right-to-left override",
    "line one\nline two\r\n\tindented after a tab",
    "zero\u{200B}width\u{200D}joiner\u{FEFF}bom",
    "Z\u{0364}\u{0351}a\u{0308}\u{0347}l\u{036E}\u{0312}g\u{0300}\u{0301}o\u{0489} text",
    "%s%s%s%n %x %d \\x00 \\u0000",
    "../../../../etc/passwd",
    "<svg/onload=alert('xss')>",
];

const CUSTOMER_RU: &[&str] = &[
    "Здравствуйте! Подскажите, где мой заказ №{order}?",
    "Добрый день, товар пришёл с браком 😕 Что делать?",
    "Спасибо, всё получил!",
    "Сколько стоит доставка в Казань?",
    "Можно оплатить картой при получении?",
    "Не могу войти в личный кабинет, пишет «неверный пароль»",
    "Алло, есть кто-нибудь?",
    "Когда появится размер M?",
    "Хочу оформить возврат по заказу {order}",
    "А скидка по промокоду ВЕСНА{n} ещё действует?",
    "Курьер не приехал, ждал весь день 😡",
    "Ок, жду",
    "Пришлите, пожалуйста, счёт на оплату для юрлица",
    "Подскажите график работы пункта выдачи на Ленина, {n}",
    "Вы работаете в выходные?",
    "Добрый вечер. Заказ {order} можно забрать сегодня?",
];

const AGENT_RU: &[&str] = &[
    "Здравствуйте! Меня зовут {agent}, помогу вам с вопросом.",
    "Проверил: заказ №{order} передан в доставку, трек-номер {track}.",
    "Приносим извинения за неудобства 🙏",
    "Оформили возврат, деньги вернутся в течение 3–5 рабочих дней.",
    "Доставка в Казань — 350 ₽, бесплатно от 3 000 ₽.",
    "Да, оплатить картой курьеру можно.",
    "Сбросили пароль, ссылка для входа придёт на почту.",
    "Размер M ожидаем к {n} числу, сообщим, как только поступит.",
    "Счёт отправили на почту, проверьте, пожалуйста, папку «Спам».",
    "Пункт выдачи работает ежедневно с 9:00 до 21:00.",
    "Спасибо за обращение! Хорошего дня ☀️",
    "Уточните, пожалуйста, номер телефона, на который оформлен заказ.",
];

const CUSTOMER_EN: &[&str] = &[
    "Hi, I ordered #{order} last week and it still hasn't shipped.",
    "Do you ship to Canada?",
    "Thanks a lot! 🙏",
    "The app crashes when I open settings",
    "Can I change the delivery address for order {order}?",
    "hello??",
    "Is the blue one still in stock?",
    "I was charged twice for the same order 😤",
    "Where can I download the invoice?",
    "Great, that worked. Appreciate it!",
    "What are your opening hours on Sunday?",
    "My tracking number {track} shows no updates for 5 days",
    "Can I get a refund instead of a replacement?",
    "ok",
];

const AGENT_EN: &[&str] = &[
    "Hi! This is {agent} from support, how can I help?",
    "Your order #{order} is on its way, tracking number: {track}",
    "Sorry for the trouble! Let me check that for you.",
    "Yes, we ship to Canada, delivery takes 7–10 business days.",
    "I've refunded the duplicate charge, it should appear in 3–5 days.",
    "You can download invoices under Account → Orders → Invoice.",
    "We're open 10:00–18:00 on Sundays.",
    "Could you send a screenshot of the error?",
    "Done ✅ Anything else I can help with?",
    "The blue one is back in stock from the {n}th.",
];

const CUSTOMER_AR: &[&str] = &[
    "مرحبا، أين طلبي رقم {order}؟",
    "شكرا جزيلا 🌹",
    "هل يمكن الدفع عند الاستلام؟",
    "المنتج وصل مكسورا، أريد استبدالا",
    "متى يفتح المتجر يوم الجمعة؟",
];

const AGENT_AR: &[&str] = &[
    "أهلا بك! طلبك رقم {order} في الطريق.",
    "نعم، الدفع عند الاستلام متاح.",
    "نعتذر عن الإزعاج، سنرسل بديلا غدا.",
    "Order {order} — تم الشحن، رقم التتبع {track}",
];

const CUSTOMER_HE: &[&str] = &[
    "שלום, מתי ההזמנה שלי תגיע?",
    "תודה רבה! 👍",
    "אפשר לשלם בכרטיס אשראי?",
    "ההזמנה {order} עדיין לא הגיעה",
];

const AGENT_HE: &[&str] = &[
    "שלום! ההזמנה {order} נשלחה היום.",
    "כן, אפשר לשלם בכרטיס אשראי.",
    "מצטערים על העיכוב, מספר מעקב: {track}",
];

const EMOJI_ONLY: &[&str] = &["👍", "😂😂😂", "❤️‍🔥", "👨‍👩‍👧‍👦", "🇷🇺🇺🇸🇮🇱🇸🇦", "🙏🏽✨", "👋🏻"];

const AGENTS: &[&str] = &["Анна", "Дмитрий", "Olga", "Mike", "Сергей", "Kate"];

const NAMES: &[&str] = &[
    "Анна Смирнова",
    "Дмитрий Иванов",
    "Екатерина Волкова",
    "Игорь",
    "ООО «Ромашка»",
    "John Carter",
    "Emily Stone",
    "Carlos Díaz",
    "محمد العلي",
    "فاطمة",
    "דנה כהן",
    "יוסי לוי",
    "🌸 Катя 🌸",
    "Mr. Nobody 🙈",
    "李雷",
    "Ольга (опт)",
];

/// Long sentences that make up the 5,000-character messages.
const LONG_RU: &str = "Добрый день! Пишу уже третий раз, потому что проблема так и не решена. \
Заказ оформил две недели назад, оплатил сразу картой, пришло подтверждение на почту, \
но статус до сих пор «в обработке». В поддержку звонил, обещали перезвонить, не перезвонили. ";
const LONG_EN: &str =
    "Hello, I am writing with a detailed description of what happened with my order, \
because the previous tickets were closed without an answer. The parcel arrived damaged, \
two items were missing and the invoice did not match what I paid. ";

/// Length in characters of the long messages.
pub const LONG_MESSAGE_CHARS: usize = 5_000;

/// A message of exactly [`LONG_MESSAGE_CHARS`] characters.
pub fn long_message(locale: Locale) -> String {
    let unit = if locale == Locale::Russian {
        LONG_RU
    } else {
        LONG_EN
    };
    unit.chars().cycle().take(LONG_MESSAGE_CHARS).collect()
}

/// Text a customer or an agent might write in this locale, placeholders filled in.
pub fn chat_line(rng: &mut impl Rng, locale: Locale, income: bool) -> String {
    let pool = match (locale, income) {
        (Locale::Russian, true) => CUSTOMER_RU,
        (Locale::Russian, false) => AGENT_RU,
        (Locale::English, true) => CUSTOMER_EN,
        (Locale::English, false) => AGENT_EN,
        (Locale::Arabic, true) => CUSTOMER_AR,
        (Locale::Arabic, false) => AGENT_AR,
        (Locale::Hebrew, true) => CUSTOMER_HE,
        (Locale::Hebrew, false) => AGENT_HE,
    };
    let template = pool[rng.gen_range(0..pool.len())];
    fill_placeholders(rng, template)
}

/// An emoji-only message.
pub fn emoji_line(rng: &mut impl Rng) -> String {
    EMOJI_ONLY[rng.gen_range(0..EMOJI_ONLY.len())].to_owned()
}

/// One of the hostile strings.
pub fn hostile_line(rng: &mut impl Rng) -> String {
    HOSTILE[rng.gen_range(0..HOSTILE.len())].to_owned()
}

/// A customer's display name.
pub fn contact_name(rng: &mut impl Rng) -> String {
    NAMES[rng.gen_range(0..NAMES.len())].to_owned()
}

fn fill_placeholders(rng: &mut impl Rng, template: &str) -> String {
    if !template.contains('{') {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find('}') else {
            out.push_str(after);
            return out;
        };
        push_placeholder(rng, &after[1..end], &mut out);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn push_placeholder(rng: &mut impl Rng, name: &str, out: &mut String) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = match name {
        "order" => write!(out, "{}", rng.gen_range(10_000..99_999)),
        "track" => write!(out, "RU{:09}CN", rng.gen_range(0..999_999_999)),
        "n" => write!(out, "{}", rng.gen_range(1..28)),
        "agent" => write!(out, "{}", AGENTS[rng.gen_range(0..AGENTS.len())]),
        other => write!(out, "{{{other}}}"),
    };
}

/// Bytes of a sample file served for seeded attachments.
#[derive(Debug, Clone)]
pub struct SampleFile {
    /// The name the message gives the file.
    pub file_name: String,
    /// Its type, as the server reports it.
    pub mime_type: &'static str,
    /// Its content.
    pub bytes: Bytes,
}

static SAMPLE_PNG: &[u8] = include_bytes!("../assets/sample.png");
static CHECKER_PNG: &[u8] = include_bytes!("../assets/checker.png");
static INVOICE_PDF: &[u8] = include_bytes!("../assets/invoice.pdf");
static NOTES_TXT: &str =
    "Заметки клиента / customer notes\n1. Размер: M\n2. Цвет: синий 🔵\n3. Адрес: ул. Ленина, 5\n";
static LOG_TXT: &str =
    "2024-03-01 12:00:01 ERROR app crashed on settings screen\n<script>alert(1)</script>\n";

/// A real voice note: `seconds` of a quiet 440 Hz tone as 8 kHz mono 16-bit PCM WAV, named
/// `file_name` (`audio/wav`).
pub fn voice_note_wav(file_name: &str, seconds: u32) -> SampleFile {
    const RATE: u32 = 8_000;
    let samples = RATE * seconds;
    let data_len = samples * 2;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&RATE.to_le_bytes());
    bytes.extend_from_slice(&(RATE * 2).to_le_bytes()); // byte rate
    bytes.extend_from_slice(&2u16.to_le_bytes()); // block align
    bytes.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..samples {
        let phase = 2.0 * std::f64::consts::PI * 440.0 * f64::from(n) / f64::from(RATE);
        let sample = (phase.sin() * 3_000.0) as i16;
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    SampleFile {
        file_name: file_name.to_owned(),
        mime_type: "audio/wav",
        bytes: Bytes::from(bytes),
    }
}

/// The sandbox's sample photo (`image/png`) under `file_name`; `checker` picks the second one.
pub fn sample_png(file_name: &str, checker: bool) -> SampleFile {
    SampleFile {
        file_name: file_name.to_owned(),
        mime_type: "image/png",
        bytes: Bytes::from_static(if checker { CHECKER_PNG } else { SAMPLE_PNG }),
    }
}

/// The sandbox's sample invoice (`application/pdf`) under `file_name`.
pub fn sample_pdf(file_name: &str) -> SampleFile {
    SampleFile {
        file_name: file_name.to_owned(),
        mime_type: "application/pdf",
        bytes: Bytes::from_static(INVOICE_PDF),
    }
}

/// A small, real file for a seeded attachment (png, pdf or txt), with a varied name.
pub fn sample_file(rng: &mut impl Rng) -> SampleFile {
    let n = rng.gen_range(1000..9999);
    match rng.gen_range(0..20) {
        0..=6 => SampleFile {
            file_name: format!("IMG_{n}.png"),
            mime_type: "image/png",
            bytes: Bytes::from_static(SAMPLE_PNG),
        },
        7 => SampleFile {
            file_name: "скриншот ошибки.png".to_owned(),
            mime_type: "image/png",
            bytes: Bytes::from_static(CHECKER_PNG),
        },
        8..=11 => SampleFile {
            file_name: format!("invoice-{n}.pdf"),
            mime_type: "application/pdf",
            bytes: Bytes::from_static(INVOICE_PDF),
        },
        12..=13 => SampleFile {
            file_name: format!("Счёт №{n} от 01.03.pdf"),
            mime_type: "application/pdf",
            bytes: Bytes::from_static(INVOICE_PDF),
        },
        14..=16 => SampleFile {
            file_name: "заметки.txt".to_owned(),
            mime_type: "text/plain",
            bytes: Bytes::from_static(NOTES_TXT.as_bytes()),
        },
        17 => SampleFile {
            file_name: "<img src=x onerror=alert(1)>.txt".to_owned(),
            mime_type: "text/plain",
            bytes: Bytes::from_static(LOG_TXT.as_bytes()),
        },
        18 => SampleFile {
            file_name: "../../etc/passwd.txt".to_owned(),
            mime_type: "text/plain",
            bytes: Bytes::from_static(LOG_TXT.as_bytes()),
        },
        _ => SampleFile {
            file_name: "photo 2024-03-01 at 10.15.png".to_owned(),
            mime_type: "image/png",
            bytes: Bytes::from_static(CHECKER_PNG),
        },
    }
}
