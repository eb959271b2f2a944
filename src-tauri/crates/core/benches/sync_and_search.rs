//! Parley's benchmark: full-sync throughput against the in-process sandbox, the SQLite insert ceiling on the
//! same rows, and search latency over a million cached messages. It prints numbers and asserts nothing.
//!
//! Run with `cargo bench -p parley-core --bench sync_and_search`. Every database lives in a temporary
//! folder that is removed at the end (set `PARLEY_BENCH_KEEP=1` to keep it for inspection). Append
//! `-- sync` or `-- search` to run only sections 1-2 or section 3. The last line of the output is a JSON
//! summary for notes.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_core::provider::{RemoteCompany, RemoteConversation};
use parley_core::store::Store;
use parley_core::{MemorySecretStore, NewAccount, Parley, ProviderKind, Secret, SyncProgress};
use parley_sandbox::{Sandbox, SandboxConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::SqlitePool;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const SYNC_CONVERSATIONS: usize = 2_000;
const SYNC_MESSAGES_PER_CONVERSATION: usize = 100;
const ACCOUNT: &str = "bench";

/// Rows per transaction when inserting directly.
const ROWS_PER_TRANSACTION: usize = 10_000;

const SEARCH_CONVERSATIONS: usize = 10_000;
const SEARCH_MESSAGES_PER_CONVERSATION: usize = 100;
const SEARCH_MESSAGES: usize = SEARCH_CONVERSATIONS * SEARCH_MESSAGES_PER_CONVERSATION;
/// A word no generated phrase contains; placed in every `RARE_EVERY`-th message (20 in a million).
const RARE_WORD: &str = "zanzibarite";
const RARE_EVERY: usize = 50_000;
/// A word no generated phrase contains; added to this share of the messages.
const COMMON_WORD: &str = "delivery";
const COMMON_SHARE: f64 = 0.30;
/// Two words: a moderately frequent phrase word, then the common word (the last word is a prefix).
const TWO_WORD_QUERY: &str = "courier delivery";
const SEARCH_LIMIT: i64 = 50;
const SEARCH_WARMUPS: usize = 5;
const SEARCH_RUNS: usize = 200;
const P95_TARGET_MS: f64 = 20.0;

use parley_core::store::{INDEX_PENDING_SQL, MESSAGE_SEARCH_SQL};

const MESSAGE_COLUMNS: &str =
    "id, account_id, conversation_id, provider_id, direction, text, created_at, status";

fn main() -> BenchResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> BenchResult<()> {
    let scratch = tempfile::Builder::new().prefix("parley-bench-").tempdir()?;
    let keep = std::env::var_os("PARLEY_BENCH_KEEP").is_some();
    println!(
        "Parley benchmark (scratch folder {})",
        scratch.path().display()
    );
    let mut summary = serde_json::Map::new();

    if section_wanted("sync") {
        print_section("1. Full sync from the in-process sandbox (latency 0)");
        let (parley, sync) = bench_sync(&scratch.path().join("sync")).await?;
        sync.print();

        print_section(
            "2. SQLite ceiling on the same rows (prepared single-row INSERTs, 10,000-row transactions)",
        );
        let rows = read_messages(parley.store().pool()).await?;
        let synced_db = parley.data_dir().join(parley_core::store::DATABASE_FILE);
        let ceiling = bench_ceiling(scratch.path(), &synced_db, &rows, sync.rate()).await?;
        parley.store().close().await;
        drop((parley, rows));
        ceiling.print();
        summary.insert("sync".into(), sync.json());
        summary.insert("sqlite".into(), ceiling.json());
    }

    if section_wanted("search") {
        print_section("3. Search over 1,000,000 cached messages");
        let search = bench_search(&scratch.path().join("search.db")).await?;
        search.print();
        summary.insert("search".into(), search.json());
    }

    if keep {
        let kept = scratch.keep();
        println!(
            "\nPARLEY_BENCH_KEEP is set: the databases stay in {}",
            kept.display()
        );
    } else {
        scratch.close()?;
    }
    println!();
    println!("{}", Value::Object(summary));
    Ok(())
}

/// True when the section was named on the command line (`-- sync` or `-- search`), or none was named.
fn section_wanted(section: &str) -> bool {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    named.is_empty() || named.iter().any(|name| name == section)
}

fn print_section(title: &str) {
    println!();
    println!("== {title}");
}

fn print_row(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<46} {value:>14}");
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

fn rounded(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

// ---------------------------------------------------------------------------------------------------------
// 1. Sync

struct SyncNumbers {
    conversations: i64,
    messages: i64,
    first: Duration,
    first_requests: u64,
    second: Duration,
    second_requests: u64,
    second_new_messages: i64,
}

impl SyncNumbers {
    fn rate(&self) -> f64 {
        per_second(self.messages as usize, self.first)
    }

    fn print(&self) {
        print_row("conversations", self.conversations);
        print_row("messages", self.messages);
        print_row(
            "first sync wall time (s)",
            format!("{:.2}", self.first.as_secs_f64()),
        );
        print_row(
            "first sync throughput (messages/s)",
            format!("{:.0}", self.rate()),
        );
        print_row("first sync HTTP requests served", self.first_requests);
        print_row(
            "second sync wall time (ms)",
            format!("{:.1}", millis(self.second)),
        );
        print_row("second sync HTTP requests served", self.second_requests);
        print_row("second sync new messages", self.second_new_messages);
    }

    fn json(&self) -> Value {
        json!({
            "conversations": self.conversations,
            "messages": self.messages,
            "first_s": rounded(self.first.as_secs_f64(), 3),
            "messages_per_s": self.rate().round(),
            "first_requests": self.first_requests,
            "second_ms": rounded(millis(self.second), 1),
            "second_requests": self.second_requests,
        })
    }
}

async fn bench_sync(data_dir: &Path) -> BenchResult<(Parley, SyncNumbers)> {
    let sandbox = Sandbox::start(SandboxConfig {
        conversations: SYNC_CONVERSATIONS,
        messages_per_conversation: SYNC_MESSAGES_PER_CONVERSATION,
        latency: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await?;
    // An in-memory secret store stands in for the OS keyring only so that the benchmark does not need a
    // keyring daemon; the app itself always keeps tokens in the OS keyring.
    let parley = Parley::open(data_dir, Arc::new(MemorySecretStore::default())).await?;
    let account = NewAccount {
        name: ACCOUNT.to_string(),
        provider: ProviderKind::PactP1,
        base_url: Some(sandbox.pact_p1_base_url()),
        company_ids: vec![],
    };
    parley
        .add_account(account, Secret::new(sandbox.token()))
        .await?;

    let (first, first_requests, report) = timed_sync(&parley, &sandbox).await?;
    let (second, second_requests, second_report) = timed_sync(&parley, &sandbox).await?;
    sandbox.shutdown().await;
    let numbers = SyncNumbers {
        conversations: report.conversations,
        messages: report.messages,
        first,
        first_requests,
        second,
        second_requests,
        second_new_messages: second_report.new_messages,
    };
    Ok((parley, numbers))
}

/// Runs one sync; returns its wall time, the requests the sandbox served meanwhile and the report.
async fn timed_sync(
    parley: &Parley,
    sandbox: &Sandbox,
) -> BenchResult<(Duration, u64, parley_core::SyncReport)> {
    let requests_before = sandbox.stats().requests;
    let start = Instant::now();
    let report = parley.sync(ACCOUNT, &mut |_: SyncProgress| {}).await?;
    let elapsed = start.elapsed();
    Ok((elapsed, sandbox.stats().requests - requests_before, report))
}

// ---------------------------------------------------------------------------------------------------------
// 2. The SQLite ceiling

/// One `messages` row, as stored.
#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    account_id: i64,
    conversation_id: i64,
    provider_id: String,
    direction: String,
    text: Option<String>,
    created_at: i64,
    status: String,
}

async fn read_messages(pool: &SqlitePool) -> BenchResult<Vec<MessageRow>> {
    // Id order is the B-tree's best case, which is what a ceiling should measure.
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY id");
    Ok(sqlx::query_as::<_, MessageRow>(&sql)
        .fetch_all(pool)
        .await?)
}

/// Inserts the rows with one prepared single-row INSERT each, 10,000 rows per transaction.
async fn insert_rows(pool: &SqlitePool, table: &str, rows: &[MessageRow]) -> BenchResult<Duration> {
    let start = Instant::now();
    for chunk in rows.chunks(ROWS_PER_TRANSACTION) {
        insert_transaction(pool, table, chunk).await?;
    }
    Ok(start.elapsed())
}

async fn insert_transaction(
    pool: &SqlitePool,
    table: &str,
    rows: &[MessageRow],
) -> BenchResult<()> {
    let sql = format!("INSERT INTO {table} ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    let mut tx = pool.begin().await?;
    for row in rows {
        sqlx::query(&sql)
            .bind(row.id)
            .bind(row.account_id)
            .bind(row.conversation_id)
            .bind(&row.provider_id)
            .bind(&row.direction)
            .bind(&row.text)
            .bind(row.created_at)
            .bind(&row.status)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts the rows with one multi-row `INSERT ... SELECT FROM json_each(?)` per 10,000 rows: what SQLite
/// itself can store when per-statement overhead (sqlx's hop to its worker thread) is out of the way.
/// The JSON is built before the clock starts.
async fn insert_rows_in_bulk(
    pool: &SqlitePool,
    table: &str,
    rows: &[MessageRow],
) -> BenchResult<Duration> {
    let chunks: Vec<String> = rows
        .chunks(ROWS_PER_TRANSACTION)
        .map(|chunk| {
            let values: Vec<Value> = chunk
                .iter()
                .map(|row| {
                    json!([
                        row.id,
                        row.account_id,
                        row.conversation_id,
                        row.provider_id,
                        row.direction,
                        row.text,
                        row.created_at,
                        row.status
                    ])
                })
                .collect();
            Value::Array(values).to_string()
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({MESSAGE_COLUMNS})
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7
         FROM json_each(?)"
    );
    let start = Instant::now();
    for chunk in &chunks {
        let mut tx = pool.begin().await?;
        sqlx::query(&sql).bind(chunk).execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(start.elapsed())
}

/// Copies the account, companies and conversations of the synced cache, so the messages' foreign keys hold.
async fn copy_parent_rows(fresh: &SqlitePool, synced_db: &Path) -> BenchResult<()> {
    let mut connection = fresh.acquire().await?;
    sqlx::query("ATTACH DATABASE ? AS synced")
        .bind(synced_db.to_string_lossy().into_owned())
        .execute(&mut *connection)
        .await?;
    for table in ["accounts", "companies", "conversations"] {
        sqlx::query(&format!(
            "INSERT INTO main.{table} SELECT * FROM synced.{table}"
        ))
        .execute(&mut *connection)
        .await?;
    }
    sqlx::query("DETACH DATABASE synced")
        .execute(&mut *connection)
        .await?;
    Ok(())
}

struct CeilingNumbers {
    rows: usize,
    indexed: u64,
    queued_insert: Duration,
    bulk_index: Duration,
    bare_insert: Duration,
    bulk_insert: Duration,
    sync_rate: f64,
}

impl CeilingNumbers {
    fn queued_rate(&self) -> f64 {
        per_second(self.rows, self.queued_insert)
    }

    fn index_rate(&self) -> f64 {
        per_second(self.indexed as usize, self.bulk_index)
    }

    fn bare_rate(&self) -> f64 {
        per_second(self.rows, self.bare_insert)
    }

    fn bulk_rate(&self) -> f64 {
        per_second(self.rows, self.bulk_insert)
    }

    fn insert_and_index_rate(&self) -> f64 {
        per_second(self.rows, self.queued_insert + self.bulk_index)
    }

    fn print(&self) {
        print_row("rows", self.rows);
        print_row(
            "(a) shipped schema + FTS queue trigger (rows/s)",
            format!("{:.0}", self.queued_rate()),
        );
        print_row(
            "(a) then index_pending_messages (rows/s)",
            format!("{:.0}", self.index_rate()),
        );
        print_row(
            "(a) insert + bulk index together (rows/s)",
            format!("{:.0}", self.insert_and_index_rate()),
        );
        print_row(
            "(b) bare table, no index/trigger (rows/s)",
            format!("{:.0}", self.bare_rate()),
        );
        print_row(
            "(c) bare table, multi-row INSERT (rows/s)",
            format!("{:.0}", self.bulk_rate()),
        );
        print_row(
            "sync throughput / (b) per-row ceiling",
            format!("{:.3}", self.sync_rate / self.bare_rate()),
        );
        print_row(
            "sync throughput / (c) bulk ceiling",
            format!("{:.3}", self.sync_rate / self.bulk_rate()),
        );
    }

    fn json(&self) -> Value {
        json!({
            "rows": self.rows,
            "queued_insert_rows_per_s": self.queued_rate().round(),
            "bulk_index_rows_per_s": self.index_rate().round(),
            "insert_and_index_rows_per_s": self.insert_and_index_rate().round(),
            "bare_insert_rows_per_s": self.bare_rate().round(),
            "bulk_insert_rows_per_s": self.bulk_rate().round(),
            "sync_over_ceiling": rounded(self.sync_rate / self.bare_rate(), 3),
            "sync_over_bulk_ceiling": rounded(self.sync_rate / self.bulk_rate(), 3),
        })
    }
}

async fn bench_ceiling(
    scratch: &Path,
    synced_db: &Path,
    rows: &[MessageRow],
    sync_rate: f64,
) -> BenchResult<CeilingNumbers> {
    let shipped = Store::open(&scratch.join("ceiling-shipped.db")).await?;
    copy_parent_rows(shipped.pool(), synced_db).await?;
    let queued_insert = insert_rows(shipped.pool(), "messages", rows).await?;
    let start = Instant::now();
    let indexed = shipped.index_pending_messages().await?;
    let bulk_index = start.elapsed();
    shipped.close().await;

    let bare = Store::open(&scratch.join("ceiling-bare.db")).await?;
    for table in ["bare_messages", "bulk_messages"] {
        sqlx::query(&format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,
                 conversation_id INTEGER NOT NULL, provider_id TEXT NOT NULL, direction TEXT NOT NULL,
                 text TEXT, created_at INTEGER NOT NULL, status TEXT NOT NULL)"
        ))
        .execute(bare.pool())
        .await?;
    }
    let bare_insert = insert_rows(bare.pool(), "bare_messages", rows).await?;
    let bulk_insert = insert_rows_in_bulk(bare.pool(), "bulk_messages", rows).await?;
    bare.close().await;

    Ok(CeilingNumbers {
        rows: rows.len(),
        indexed,
        queued_insert,
        bulk_index,
        bare_insert,
        bulk_insert,
        sync_rate,
    })
}

// ---------------------------------------------------------------------------------------------------------
// 3. Search

const PHRASES_EN: &[&str] = &[
    "Hi, where is my order {n}?",
    "The courier was delayed again, I waited all day",
    "Can I pay by card on receipt?",
    "Thanks, everything arrived in good shape",
    "I would like a refund for order {n}",
    "Your parcel {n} is on its way, tracking number RB{n}",
    "Is the promo code SPRING{n} still valid?",
    "We are open every day from 9 to 9",
    "Please send the invoice to accounting",
    "The courier will call you an hour before arrival",
    "Sorry for the trouble, we will fix it today",
    "Size M is back in stock on the {n}th",
];

const PHRASES_RU: &[&str] = &[
    "Здравствуйте! Где мой заказ №{n}?",
    "Товар пришёл с браком 😕 Что делать?",
    "Курьер не приехал, ждал весь день 😡",
    "Спасибо, всё получил!",
    "Можно оплатить картой при получении?",
    "Оформили возврат, деньги вернутся за 3–5 дней",
    "Трек-номер {n}, посылка уже в пути",
    "Пункт выдачи работает с 9:00 до 21:00",
    "Пришлите, пожалуйста, счёт для юрлица",
    "Размер M ожидаем к {n} числу",
];

const PHRASES_AR: &[&str] = &[
    "مرحبا، أين طلبي رقم {n}؟",
    "شكرا جزيلا، وصل كل شيء",
    "هل يمكنني الدفع عند الاستلام؟",
    "نعتذر عن التأخير 🙏",
];

const PHRASES_HE: &[&str] = &[
    "שלום, איפה ההזמנה שלי {n}?",
    "תודה רבה, הכל הגיע",
    "אפשר לשלם בכרטיס אשראי?",
    "השליח יתקשר לפני ההגעה 🚚",
];

/// The phrase list of conversation `conversation`, with a realistic language mix (mostly Russian and English).
fn phrases_for(conversation: usize) -> &'static [&'static str] {
    match conversation.wrapping_mul(2_654_435_761) % 100 {
        0..=47 => PHRASES_RU,
        48..=85 => PHRASES_EN,
        86..=93 => PHRASES_AR,
        _ => PHRASES_HE,
    }
}

/// The text of message number `index` (time order) of `conversation`, with the controlled words placed.
fn message_text(rng: &mut StdRng, conversation: usize, index: usize) -> String {
    let phrases = phrases_for(conversation);
    let phrase = phrases[rng.gen_range(0..phrases.len())];
    let mut text = phrase.replace("{n}", &rng.gen_range(1..100_000).to_string());
    if rng.gen_bool(COMMON_SHARE) {
        text = if rng.gen_bool(0.5) {
            format!("{COMMON_WORD}: {text}")
        } else {
            format!("{text} ({COMMON_WORD})")
        };
    }
    if index % RARE_EVERY == RARE_EVERY / 2 {
        text.push_str(&format!(" #{RARE_WORD}"));
    }
    text
}

struct SearchBuild {
    insert: Duration,
    index: Duration,
    rare_rows: i64,
    common_rows: i64,
}

async fn build_search_db(path: &Path) -> BenchResult<(Store, SearchBuild)> {
    let store = Store::open(path).await?;
    let account = NewAccount {
        name: ACCOUNT.to_string(),
        provider: ProviderKind::PactP1,
        base_url: None,
        company_ids: vec![],
    };
    let account = store.insert_account(&account, "bench-secret-ref").await?;
    let company = RemoteCompany {
        id: "1".to_string(),
        name: Some("Bench company".to_string()),
    };
    let company_ids = store.upsert_companies(account.id, &[company]).await?;
    let company_id = company_ids
        .first()
        .map(|(id, _)| *id)
        .ok_or("no company id")?;
    let conversation_ids = insert_conversations(&store, account.id, company_id).await?;

    let start = Instant::now();
    insert_messages(store.pool(), account.id, &conversation_ids).await?;
    let insert = start.elapsed();
    let start = Instant::now();
    store.index_pending_messages().await?;
    let index = start.elapsed();
    let build = SearchBuild {
        insert,
        index,
        rare_rows: count_matches(store.pool(), RARE_WORD).await?,
        common_rows: count_matches(store.pool(), COMMON_WORD).await?,
    };
    Ok((store, build))
}

async fn insert_conversations(
    store: &Store,
    account_id: i64,
    company_id: i64,
) -> BenchResult<Vec<i64>> {
    let names = [
        "Анна",
        "John",
        "Мария",
        "Fatima",
        "Noa",
        "Игорь",
        "Emily",
        "Dmitri",
    ];
    let all: Vec<RemoteConversation> = (0..SEARCH_CONVERSATIONS)
        .map(|n| RemoteConversation {
            id: (n + 1).to_string(),
            title: Some(format!("{} {}", names[n % names.len()], n + 1)),
            channel: Some("whatsapp".to_string()),
            ..RemoteConversation::default()
        })
        .collect();
    let mut ids = Vec::with_capacity(all.len());
    for page in all.chunks(1_000) {
        let states = store
            .upsert_conversations(account_id, company_id, page)
            .await?;
        ids.extend(states.into_iter().map(|state| state.id));
    }
    Ok(ids)
}

/// Writes a million messages in time order, conversations interleaved, with time-ordered ids as the store
/// makes them (`created_at_ms * 1000`).
async fn insert_messages(
    pool: &SqlitePool,
    account_id: i64,
    conversation_ids: &[i64],
) -> BenchResult<()> {
    let mut rng = StdRng::seed_from_u64(7);
    let first_ms: i64 = 1_700_000_000_000;
    let mut batch = Vec::with_capacity(ROWS_PER_TRANSACTION);
    for index in 0..SEARCH_MESSAGES {
        let conversation = index % conversation_ids.len();
        let created_at = first_ms + index as i64 * 6_000;
        let incoming = rng.gen_bool(0.5);
        batch.push(MessageRow {
            id: created_at * 1000,
            account_id,
            conversation_id: conversation_ids[conversation],
            provider_id: (index + 1).to_string(),
            direction: if incoming { "in" } else { "out" }.to_string(),
            text: Some(message_text(&mut rng, conversation, index)),
            created_at,
            status: if incoming { "received" } else { "sent" }.to_string(),
        });
        if batch.len() == ROWS_PER_TRANSACTION {
            insert_transaction(pool, "messages", &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert_transaction(pool, "messages", &batch).await?;
    }
    Ok(())
}

async fn count_matches(pool: &SqlitePool, word: &str) -> BenchResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?")
            .bind(format!("\"{word}\""))
            .fetch_one(pool)
            .await?,
    )
}

/// Latencies of one query, sorted.
struct Latencies {
    label: String,
    query: String,
    hits: usize,
    sorted: Vec<Duration>,
}

impl Latencies {
    fn percentile(&self, percent: usize) -> f64 {
        let rank = (self.sorted.len() * percent).div_ceil(100).max(1);
        millis(self.sorted[rank - 1])
    }

    fn max(&self) -> f64 {
        self.sorted.last().map_or(0.0, |d| millis(*d))
    }

    fn print(&self) {
        println!(
            "  {:<12} {:<20} {:>6} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            self.label,
            format!("\"{}\"", self.query),
            self.hits,
            self.percentile(50),
            self.percentile(95),
            self.percentile(99),
            self.max()
        );
    }

    fn json(&self) -> Value {
        json!({
            "query": self.query,
            "hits": self.hits,
            "p50_ms": rounded(self.percentile(50), 3),
            "p95_ms": rounded(self.percentile(95), 3),
            "p99_ms": rounded(self.percentile(99), 3),
            "max_ms": rounded(self.max(), 3),
        })
    }
}

async fn time_search(store: &Store, label: &str, query: &str) -> BenchResult<Latencies> {
    let mut hits = 0;
    for _ in 0..SEARCH_WARMUPS {
        hits = store.search(query, SEARCH_LIMIT).await?.len();
    }
    let mut sorted = Vec::with_capacity(SEARCH_RUNS);
    for _ in 0..SEARCH_RUNS {
        let start = Instant::now();
        let found = store.search(query, SEARCH_LIMIT).await?;
        sorted.push(start.elapsed());
        std::hint::black_box(found);
    }
    sorted.sort();
    Ok(Latencies {
        label: label.to_string(),
        query: query.to_string(),
        hits,
        sorted,
    })
}

/// `EXPLAIN QUERY PLAN` of `sql`, one line per step; `match_query` (with the limit) is bound when given.
async fn query_plan(
    pool: &SqlitePool,
    sql: &str,
    match_query: Option<String>,
) -> BenchResult<Vec<String>> {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
    if let Some(match_query) = match_query {
        query = query.bind(match_query).bind(SEARCH_LIMIT);
    }
    let rows = query.fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(_, _, _, detail)| detail).collect())
}

/// Median time of `index_pending_messages` with nothing queued: what every `Store::search` pays first.
async fn empty_index_call(store: &Store) -> BenchResult<Duration> {
    let mut times = Vec::with_capacity(21);
    for _ in 0..21 {
        let start = Instant::now();
        store.index_pending_messages().await?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

struct SearchNumbers {
    build: SearchBuild,
    results: Vec<Latencies>,
    search_plan: Vec<String>,
    index_plan: Vec<String>,
    empty_index_call: Duration,
}

impl SearchNumbers {
    fn print(&self) {
        print_row("built by", "direct SQL");
        print_row("messages", SEARCH_MESSAGES);
        print_row(
            "insert with FTS queue trigger (s)",
            format!("{:.2}", self.build.insert.as_secs_f64()),
        );
        print_row(
            "index_pending_messages (s)",
            format!("{:.2}", self.build.index.as_secs_f64()),
        );
        print_row(
            &format!("messages containing \"{RARE_WORD}\""),
            self.build.rare_rows,
        );
        print_row(
            &format!("messages containing \"{COMMON_WORD}\""),
            self.build.common_rows,
        );
        println!();
        println!(
            "  {:<12} {:<20} {:>6} {:>9} {:>9} {:>9} {:>9}",
            "query", "typed", "hits", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for result in &self.results {
            result.print();
        }
        println!();
        println!("  EXPLAIN QUERY PLAN of the message search (\"{COMMON_WORD}\"):");
        for line in &self.search_plan {
            println!("    {line}");
        }
        println!("  EXPLAIN QUERY PLAN of index_pending_messages, which every search runs first:");
        for line in &self.index_plan {
            println!("    {line}");
        }
        print_row(
            "index_pending_messages, empty queue (ms)",
            format!("{:.3}", millis(self.empty_index_call)),
        );
        for result in self.results.iter().take(2) {
            let verdict = if result.percentile(95) < P95_TARGET_MS {
                "met"
            } else {
                "MISSED"
            };
            print_row(
                &format!("p95 < {P95_TARGET_MS} ms target, {}", result.label),
                verdict,
            );
        }
    }

    fn json(&self) -> Value {
        let mut queries = serde_json::Map::new();
        for result in &self.results {
            queries.insert(result.label.clone(), result.json());
        }
        json!({
            "messages": SEARCH_MESSAGES,
            "build": "direct SQL + index_pending_messages",
            "insert_s": rounded(self.build.insert.as_secs_f64(), 2),
            "index_s": rounded(self.build.index.as_secs_f64(), 2),
            "rare_rows": self.build.rare_rows,
            "common_rows": self.build.common_rows,
            "empty_index_call_ms": rounded(millis(self.empty_index_call), 3),
            "queries": queries,
        })
    }
}

async fn bench_search(path: &Path) -> BenchResult<SearchNumbers> {
    let (store, build) = build_search_db(path).await?;
    let prefix: String = COMMON_WORD.chars().take(3).collect();
    let queries = [
        ("rare", RARE_WORD),
        ("common", COMMON_WORD),
        ("prefix", prefix.as_str()),
        ("two words", TWO_WORD_QUERY),
    ];
    let mut results = Vec::with_capacity(queries.len());
    for (label, query) in queries {
        results.push(time_search(&store, label, query).await?);
    }
    let search_plan = query_plan(
        store.pool(),
        MESSAGE_SEARCH_SQL,
        Some(format!("\"{COMMON_WORD}\"*")),
    )
    .await?;
    let index_plan = query_plan(store.pool(), INDEX_PENDING_SQL, None).await?;
    let empty_index_call = empty_index_call(&store).await?;
    store.close().await;
    Ok(SearchNumbers {
        build,
        results,
        search_plan,
        index_plan,
        empty_index_call,
    })
}
