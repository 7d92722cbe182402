package mock

import (
	"context"
	"encoding/json"
	"github.com/weirhq/weir/internal/jsonenc"
	"math/rand/v2"
	"time"
)

// A plan is everything one answer will contain, decided before the first
// byte is written, so that the usage reported always matches the chunks
// sent.

// choicePlan is one generated choice.
type choicePlan struct {
	seed      uint64
	reasoning int      // reasoning tokens, after truncation
	frags     []string // content pieces (JSON modes, tool arguments); nil for generated words
	units     int      // content units after truncation: words, pieces or argument fragments
	tool      bool
	refusal   bool // the content is the profile's refusal text
	toolID    string
	toolName  string
	truncated bool
}

// output is the choice's output token count.
func (c *choicePlan) output() int { return c.reasoning + c.units }

// unit is content unit i as a JSON string.
func (c *choicePlan) unit(dst []byte, i int) []byte {
	if c.frags == nil {
		return append(dst, quotedWord(c.seed, i)...)
	}
	return jsonenc.AppendString(dst, c.frags[i])
}

// appendText appends the choice's content units unquoted.
func (c *choicePlan) appendText(dst []byte) []byte {
	if c.frags == nil {
		return appendWords(dst, c.seed, c.units)
	}
	for _, f := range c.frags[:c.units] {
		dst = append(dst, f...)
	}
	return dst
}

func (c *choicePlan) reasoningSeed() uint64 { return mix(c.seed ^ 0x5eed) }

// planInput is what a request asks of the generator.
type planInput struct {
	seed      uint64 // server seed mixed with the request body's hash
	choices   int
	maxOut    int // 0: no limit
	reasoning int // reasoning tokens per choice
	tools     toolChoice
	format    string // "", "json_object" or "json_schema"
	schema    []byte
	anthropic bool
	shape     shape // the behaviour knobs' draws; zero before the draw
}

// tokens are the prompt figures reported.
type tokens struct {
	input, cacheRead, cacheWrite, cacheWrite1h int
}

// openAIPrompt is prompt_tokens: every prompt token, cached or not.
func (t tokens) openAIPrompt() int { return t.input + t.cacheRead + t.cacheWrite }

func promptFigures(p *Profile, computed int) tokens {
	t := tokens{input: computed, cacheRead: p.CacheReadTokens, cacheWrite: p.CacheWriteTokens, cacheWrite1h: p.CacheWrite1hTokens}
	if p.InputTokens > 0 {
		t.input = p.InputTokens
	}
	return t
}

// buildChoices plans every choice.
func buildChoices(p *Profile, in planInput) []choicePlan {
	out := make([]choicePlan, in.choices)
	var sch *schema
	callTool := in.tools.call && (p.ToolCalls || in.tools.forced)
	// A refusal replaces every answer but a call the request forces.
	refuse := in.shape.refusal != nil && !(in.tools.call && in.tools.forced)
	if refuse {
		callTool = false
	}
	if callTool {
		sch = parseSchema(in.tools.params)
	} else if in.format == "json_schema" {
		sch = parseSchema(in.schema)
	}
	for c := range out {
		cp := &out[c]
		cp.seed = mix(in.seed + uint64(c)*0x632be59bd9b4e019)
		planned := in.shape.length(p.OutputTokens, c)
		switch {
		case refuse:
			cp.refusal, cp.frags = true, in.shape.refusal
			planned = len(cp.frags)
		case callTool:
			cp.tool, cp.toolName = true, in.tools.name
			var args []byte
			if sch == nil {
				args = []byte("{}")
			} else {
				args = exampleValue(nil, sch, cp.seed, false, 0)
			}
			cp.frags = argFragments(string(args))
			planned = len(cp.frags)
			id := make([]byte, 0, 32)
			if in.anthropic {
				id = appendID(append(id, "toolu_01"...), cp.seed^0x7001, 22)
			} else {
				id = appendID(append(id, "call_"...), cp.seed^0x7001, 24)
			}
			cp.toolID = string(id)
		case in.format == "json_object":
			k := max(planned, 1)
			doc := append([]byte(`{"answer":"`), appendWords(nil, cp.seed, max(k-2, 1))...)
			doc = append(doc, `"}`...)
			if in.shape.badJSON {
				doc = breakJSON(doc)
			}
			cp.frags = splitN(string(doc), k)
			planned = len(cp.frags)
		case in.format == "json_schema":
			var doc []byte
			if sch == nil {
				doc = []byte("{}")
			} else {
				doc = exampleValue(nil, sch, cp.seed, true, 0)
			}
			if in.shape.badJSON {
				doc = breakJSON(doc)
			}
			cp.frags = splitN(string(doc), max(planned, 1))
			planned = len(cp.frags)
		}
		cp.reasoning, cp.units = in.reasoning, planned
		if in.maxOut > 0 {
			cp.reasoning = min(cp.reasoning, in.maxOut)
			cp.units = min(planned, in.maxOut-cp.reasoning)
			cp.truncated = cp.reasoning < in.reasoning || cp.units < planned
		}
	}
	return out
}

func parseSchema(raw []byte) *schema {
	if len(raw) == 0 {
		return nil
	}
	var s schema
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return &s
}

// pacer spaces the chunks of one answer by the profile's timings, against
// absolute deadlines so that rounding does not accumulate.
type pacer struct {
	on    bool
	p     *Profile
	rng   rand.PCG
	next  time.Time
	timer *time.Timer
	done  <-chan struct{}
}

func (pc *pacer) init(p *Profile, seed uint64, t0 time.Time, done <-chan struct{}) {
	*pc = pacer{p: p, done: done, next: t0, on: p.TTFT > 0 || p.TTFTJitter > 0 || p.ITL > 0 || p.ITLJitter > 0}
	pc.rng.Seed(seed, seed^0x9e3779b97f4a7c15)
}

func (pc *pacer) jitter(base, j time.Duration) time.Duration {
	if j > 0 {
		base += time.Duration(pc.rng.Uint64()%uint64(2*j+1)) - j
	}
	return max(base, 0)
}

// first schedules the first chunk: TTFT plus units hidden tokens.
func (pc *pacer) first(hidden int) {
	if !pc.on {
		return
	}
	pc.next = pc.next.Add(pc.jitter(pc.p.TTFT, pc.p.TTFTJitter))
	pc.delay(hidden)
}

// delay pushes the next chunk back by n inter-token latencies.
func (pc *pacer) delay(n int) {
	if !pc.on {
		return
	}
	for range n {
		pc.next = pc.next.Add(pc.jitter(pc.p.ITL, pc.p.ITLJitter))
	}
}

// wait sleeps until the next chunk is due. It reports false when the
// client went away or the server is closing.
func (pc *pacer) wait(ctx context.Context) bool {
	if !pc.on {
		return ctx.Err() == nil
	}
	d := time.Until(pc.next)
	if d <= 0 {
		return ctx.Err() == nil
	}
	if pc.timer == nil {
		pc.timer = time.NewTimer(d)
	} else {
		pc.timer.Reset(d)
	}
	select {
	case <-pc.timer.C:
		return true
	case <-ctx.Done():
	case <-pc.done:
	}
	pc.timer.Stop()
	return false
}

func (pc *pacer) stop() {
	if pc.timer != nil {
		pc.timer.Stop()
	}
}
