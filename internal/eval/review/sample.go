package review

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// Sampling limits.
const (
	// MaxScan bounds the calls one run reads per queue: under heavier
	// traffic the newest MaxScan calls since the last run are considered
	// and the older ones passed over.
	MaxScan = 20000
	// FirstLookback is how far back a queue's first run reads.
	FirstLookback = 24 * time.Hour
	pageSize      = 1000
)

// Run samples every queue each interval until ctx ends. Errors are
// logged; a queue that fails is tried again next time.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if _, err := s.SampleAll(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("review: sample", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SampleAll samples every queue once and returns how many items were
// added.
func (s *Service) SampleAll(ctx context.Context) (int, error) {
	qs, err := s.st.ListReviewQueues(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, q := range qs {
		n, err := s.Sample(ctx, q)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// Sample reads the calls of q's use case newer than its cursor (newest
// first), picks those its sampling rules take, and adds them with the new
// cursor in one write, so a call is considered once.
func (s *Service) Sample(ctx context.Context, q store.ReviewQueue) (int, error) {
	sp := q.Sampling
	if (sp.Rate <= 0 && sp.MinPerStratum <= 0) || s.calls == nil {
		return 0, nil
	}
	now := s.now().UTC()
	rq := store.RequestQuery{UseCase: q.UseCase, Model: sp.Model, Limit: pageSize}
	if q.Cursor.ID != "" {
		rq.From = time.Unix(0, q.Cursor.ReceivedAt)
	} else {
		rq.From = now.Add(-FirstLookback)
	}
	var (
		calls  []record.Record
		newest *store.Key
		scan   int
	)
read:
	for scan < MaxScan {
		page, err := s.calls.ListRequests(ctx, rq)
		if err != nil {
			return 0, err
		}
		for i := range page.Requests {
			r := page.Requests[i]
			k := store.KeyOf(&r)
			if q.Cursor.ID != "" && !after(k, q.Cursor) {
				break read
			}
			if newest == nil {
				newest = &k
			}
			scan++
			calls = append(calls, r)
			if scan >= MaxScan {
				break read
			}
		}
		if page.NextCursor == "" {
			break
		}
		rq.Cursor = page.NextCursor
	}
	if newest == nil {
		return 0, nil
	}
	var counts map[string]int
	if sp.StratifyBy != "" && sp.MinPerStratum > 0 && len(calls) > 0 {
		oldest := calls[len(calls)-1].ReceivedAt
		var err error
		if counts, err = s.st.StratumCounts(ctx, q.Name, oldest); err != nil {
			return 0, err
		}
	}
	picked := Pick(q, calls, counts)
	items := make([]store.ReviewItem, 0, len(picked))
	for _, p := range picked {
		items = append(items, store.ReviewItem{ID: ids.New("rvi_", now), TargetKind: eval.TargetCall, Target: p.Call, Source: "sampled",
			Stratum: p.Stratum, Day: p.Day, AddedAt: now})
	}
	return s.st.AddReviewItems(ctx, q.Name, items, newest)
}

// after reports whether k comes after c in time (a newer call).
func after(k, c store.Key) bool {
	return k.ReceivedAt > c.ReceivedAt || k.ReceivedAt == c.ReceivedAt && k.ID > c.ID
}

// Picked is a call the sampling rules take.
type Picked struct {
	Call, Stratum string
	Day           time.Time
}

// Pick applies q's sampling rules to calls: successful calls matching the
// filters are taken when their id hashes below the rate (so a call's fate
// is the same on every run and in every replica), and, when the queue
// stratifies with a minimum, while their stratum has fewer than the
// minimum on their UTC day (counts holds what earlier runs took, keyed
// "YYYY-MM-DD|stratum"; Pick updates it).
func Pick(q store.ReviewQueue, calls []record.Record, counts map[string]int) []Picked {
	sp := q.Sampling
	if counts == nil {
		counts = map[string]int{}
	}
	var out []Picked
	for _, r := range calls {
		if r.UseCase != q.UseCase || (sp.Model != "" && r.Model != sp.Model) || (sp.UseCaseVersion != "" && r.UseCaseVersion != sp.UseCaseVersion) {
			continue
		}
		if r.Status < 200 || r.Status > 299 || r.ErrorKind != "" {
			continue
		}
		var stratum string
		switch sp.StratifyBy {
		case "model":
			stratum = r.Model
		case "version":
			stratum = r.UseCaseVersion
		}
		day := r.ReceivedAt.UTC().Truncate(24 * time.Hour)
		key := day.Format(time.DateOnly) + "|" + stratum
		take := Unit(q.Name, r.ID) < sp.Rate
		if !take && sp.StratifyBy != "" && counts[key] < sp.MinPerStratum {
			take = true
		}
		if !take {
			continue
		}
		counts[key]++
		out = append(out, Picked{Call: r.ID, Stratum: stratum, Day: day})
	}
	return out
}

// Unit maps a queue and a call id to [0, 1) uniformly: the call's
// sampling draw.
func Unit(queue, id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(queue))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], h.Sum64())
	// Mix: FNV's low bits are weak for similar inputs.
	x := binary.BigEndian.Uint64(b[:])
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11) / (1 << 53)
}
