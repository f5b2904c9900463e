package bot

import (
	"sort"
	"sync"
	"time"
)

// rejectCounter counts the webhooks refused per source and reason in the
// last hour, in one-minute buckets, for the web console's overview
// (bankbot_webhooks_received_total keeps the count since start). Keys are a
// configured source and a fixed reason code, so it stays small; the zero
// value is ready to use.
type rejectCounter struct {
	mu   sync.Mutex
	keys map[rejectKey]*[rejectBuckets]rejectBucket
}

const rejectBuckets = 60

type rejectKey struct{ source, reason string }

type rejectBucket struct {
	minute int64 // unix minute the count belongs to
	n      int
}

// add counts one rejected webhook of source for reason at now.
func (c *rejectCounter) add(source, reason string, now time.Time) {
	m := now.Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = map[rejectKey]*[rejectBuckets]rejectBucket{}
	}
	k := rejectKey{source, reason}
	bs := c.keys[k]
	if bs == nil {
		bs = new([rejectBuckets]rejectBucket)
		c.keys[k] = bs
	}
	b := &bs[m%rejectBuckets]
	if b.minute != m {
		*b = rejectBucket{minute: m}
	}
	b.n++
}

// reasonCount is one reason's count.
type reasonCount struct {
	reason string
	n      int
}

// lastHour returns, per source, the rejects of the 60 minutes up to now
// by reason, most frequent first.
func (c *rejectCounter) lastHour(now time.Time) map[string][]reasonCount {
	m := now.Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]reasonCount{}
	for k, bs := range c.keys {
		n := 0
		for _, b := range bs {
			if b.minute > m-rejectBuckets && b.minute <= m {
				n += b.n
			}
		}
		if n > 0 {
			out[k.source] = append(out[k.source], reasonCount{k.reason, n})
		}
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].n != rs[j].n {
				return rs[i].n > rs[j].n
			}
			return rs[i].reason < rs[j].reason
		})
	}
	return out
}
