package mock

import (
	"log/slog"
	"maps"
	"time"
)

// Stats are the counts GET /mock/stats reports.
type Stats struct {
	// Requests counts every request the server received, except those for
	// the stats themselves.
	Requests int64 `json:"requests"`
	// Models has the counts per model id; requests naming no configured
	// model (unknown models, model lists, bad requests) are counted under
	// "(other)".
	Models map[string]ModelStats `json:"models"`
}

// ModelStats are one model's counts.
type ModelStats struct {
	Requests int64 `json:"requests"`
	// Status counts answers by HTTP status; requests that hung before the
	// headers have none.
	Status map[int]int64 `json:"status"`
	// Streams counts streamed answers.
	Streams int64 `json:"streams"`
	// Cut, Hung and ClientGone count answers aborted on purpose, stalled
	// on purpose, and abandoned by the client.
	Cut        int64 `json:"cut"`
	Hung       int64 `json:"hung"`
	ClientGone int64 `json:"client_gone"`
	// InputTokens and OutputTokens add up the usage of completed answers
	// (prompt tokens as OpenAI counts them, cache included), whether or not
	// the usage was sent.
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

type modelStats struct {
	ModelStats
}

func (m *modelStats) add(o *outcome) {
	m.Requests++
	if o.status != 0 {
		if m.Status == nil {
			m.Status = make(map[int]int64, 4)
		}
		m.Status[o.status]++
	}
	if o.stream {
		m.Streams++
	}
	if o.cut {
		m.Cut++
	}
	if o.hung {
		m.Hung++
	}
	if o.gone {
		m.ClientGone++
	}
	m.InputTokens += int64(o.in)
	m.OutputTokens += int64(o.outTokens)
}

func (m *modelStats) snapshot() ModelStats {
	c := m.ModelStats
	c.Status = maps.Clone(m.Status)
	if c.Status == nil {
		c.Status = map[int]int64{}
	}
	return c
}

// record adds the exchange's outcome to the stats. It runs deferred, so
// aborted answers are counted too.
func (x *exchange) record() {
	if x.r.URL.Path == "/mock/stats" {
		return
	}
	if x.s.log.Enabled(x.ctx, slog.LevelDebug) {
		model := ""
		if x.model != nil {
			model = x.model.name
		}
		x.s.log.LogAttrs(x.ctx, slog.LevelDebug, "mock request",
			slog.String("path", x.r.URL.Path), slog.String("model", model), slog.Int("status", x.out.status),
			slog.Bool("stream", x.out.stream), slog.Bool("cut", x.out.cut), slog.Bool("hung", x.out.hung),
			slog.Bool("client_gone", x.out.gone), slog.Int("output_tokens", x.out.outTokens),
			slog.Duration("duration", time.Since(x.t0)))
	}
	if x.model == nil {
		x.s.mu.Lock()
		x.s.unknown.add(&x.out)
		x.s.mu.Unlock()
		return
	}
	x.model.mu.Lock()
	x.model.stats.add(&x.out)
	x.model.mu.Unlock()
}

// Stats returns a snapshot of the counts.
func (s *Server) Stats() Stats {
	st := Stats{Models: make(map[string]ModelStats, len(s.models)+1)}
	for _, name := range s.names {
		m := s.models[name]
		m.mu.Lock()
		ms := m.stats.snapshot()
		m.mu.Unlock()
		st.Models[name] = ms
		st.Requests += ms.Requests
	}
	s.mu.Lock()
	if s.unknown.Requests > 0 {
		st.Models["(other)"] = s.unknown.snapshot()
		st.Requests += s.unknown.Requests
	}
	s.mu.Unlock()
	return st
}
