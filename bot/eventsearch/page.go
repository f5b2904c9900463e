package eventsearch

import (
	"context"

	"github.com/bankbot/bankbot/store"
)

// Pager is the store method a paged search needs.
type Pager interface {
	PageEvents(ctx context.Context, p store.EventPage) (store.EventPageResult, error)
}

const (
	// maxBatches bounds the store reads of one page: a search whose
	// amount matches many events of another currency's exponent returns a
	// short page (with a next cursor) rather than reading on.
	maxBatches = 4
	// ScanLimit bounds the events one read matches by account digits
	// when the store reads them one by one (rows stored before migration
	// 0011 and not yet backfilled, or digits matching so many events
	// that the store walks the window; see store.EventPage.ScanLimit), so
	// a page answers in bounded time however many events the window
	// holds; the page then ends where the read stopped, and the next page
	// searches on. A search the store answers from its index of account
	// digits is not bounded by it.
	ScanLimit = 2000
)

// Page returns up to limit events of p's window, source and kind, after
// p.After, that match text as Find matches it (text may be empty: every
// event), newest first, and the cursor the next page starts after (zero
// when there are no more). A page may hold fewer than limit events and
// still have a next cursor when a search by account digits stopped at
// ScanLimit events read. p.Search, p.Limit and p.ScanLimit are set here.
func Page(ctx context.Context, pg Pager, text string, p store.EventPage, limit int) ([]store.StoredEvent, store.EventCursor, error) {
	if limit < 1 {
		limit = 50
	}
	var q store.EventSearch
	var amounts map[int]int64
	searching := text != ""
	if searching {
		q, amounts = Query(text)
		p.Search = &q
	}
	// Candidates per read: one more than the page (to know whether
	// another follows), four times that when searching (the store
	// matches an amount under every exponent; Keeps drops the others).
	p.Limit = limit + 1
	if searching {
		p.Limit *= 4
	}
	p.ScanLimit = ScanLimit
	var kept []store.StoredEvent
	for range maxBatches {
		res, err := pg.PageEvents(ctx, p)
		if err != nil {
			return nil, store.EventCursor{}, err
		}
		for _, e := range res.Events {
			if searching && !Keeps(q, amounts, e) {
				continue
			}
			if len(kept) == limit {
				// One more match exists: the page ends at the last kept.
				last := kept[len(kept)-1]
				return kept, store.EventCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}, nil
			}
			kept = append(kept, e)
		}
		if res.Next.IsZero() {
			return kept, store.EventCursor{}, nil // the store has no more
		}
		p.After = res.Next
		if len(res.Events) < p.Limit {
			// The read stopped at ScanLimit: show what it found.
			break
		}
	}
	// The next page starts after the last event read, whether or not it
	// matched.
	return kept, p.After, nil
}
