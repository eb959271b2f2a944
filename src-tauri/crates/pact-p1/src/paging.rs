//! Page streams: follow `next_page` to the end and stop with an error if the server repeats a token.

use std::collections::HashSet;
use std::future::Future;

use futures::Stream;

use crate::{Error, Page, PageRequest, SortDirection};

struct Cursor {
    /// Token to send with the next request (`None` for the first page).
    next: Option<String>,
    /// Every token sent or received so far.
    seen: HashSet<String>,
    finished: bool,
}

/// Streams pages produced by `fetch`, starting at `start_from` (or the first page).
///
/// A p1 server answers an unknown `from` with the first page, so a token that comes back twice
/// means a loop: the stream then yields [`Error::RepeatedPageToken`] instead of the page and ends.
/// Any other error is yielded once and ends the stream too.
pub(crate) fn page_stream<'a, T, F, Fut>(
    per: u8,
    sort: SortDirection,
    start_from: Option<String>,
    fetch: F,
) -> impl Stream<Item = Result<Page<T>, Error>> + 'a
where
    T: 'a,
    F: Fn(PageRequest) -> Fut + 'a,
    Fut: Future<Output = Result<Page<T>, Error>> + 'a,
{
    let start_from = start_from.filter(|token| !token.is_empty());
    let cursor = Cursor {
        seen: start_from.iter().cloned().collect(),
        next: start_from,
        finished: false,
    };
    futures::stream::unfold(cursor, move |mut cursor| {
        let pending = (!cursor.finished).then(|| {
            fetch(PageRequest {
                from: cursor.next.clone(),
                per: Some(per),
                sort: Some(sort),
            })
        });
        async move {
            let result = pending?.await;
            let item = advance(&mut cursor, result);
            Some((item, cursor))
        }
    })
}

/// Moves the cursor past one fetched page and decides what the stream yields for it.
fn advance<T>(cursor: &mut Cursor, result: Result<Page<T>, Error>) -> Result<Page<T>, Error> {
    let page = match result {
        Ok(page) => page,
        Err(error) => {
            cursor.finished = true;
            return Err(error);
        }
    };
    match page.next_page.clone() {
        None => cursor.finished = true,
        Some(token) if !cursor.seen.insert(token.clone()) => {
            cursor.finished = true;
            return Err(Error::RepeatedPageToken);
        }
        Some(token) => cursor.next = Some(token),
    }
    Ok(page)
}
