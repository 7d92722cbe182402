package pricing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// litellmURL is where LiteLLM publishes its price file.
const litellmURL = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"

// litellmProvider is how one litellm_provider value maps to Weir.
type litellmProvider struct {
	weir string
	// prefixes are LiteLLM's routing prefixes on model keys ("groq/"); the
	// first one that matches is removed, as Weir matches the model id as
	// sent upstream.
	prefixes []string
	// fallback providers price only the models the others do not list.
	fallback bool
	// nestedIDs is false where a "/" left in the id names a region or a
	// deployment type rather than a model (bedrock/us-east-1/...,
	// azure/eu/...).
	nestedIDs bool
}

// litellmProviders maps the litellm_provider values Weir knows. Google is
// the Gemini API ("gemini"); Vertex AI's Gemini models
// ("vertex_ai-language-models", keys bare or under "vertex_ai/") mostly
// bill the same list prices, so they fill in models the Gemini API entries
// lack and never replace one (a different price is reported). Vertex AI's partner models (Claude,
// Llama, Mistral... on Vertex) are other providers' prices and are left out.
var litellmProviders = map[string]litellmProvider{
	"openai":                    {weir: "openai", prefixes: []string{"openai/"}, nestedIDs: true},
	"text-completion-openai":    {weir: "openai", prefixes: []string{"text-completion-openai/", "openai/"}, nestedIDs: true},
	"anthropic":                 {weir: "anthropic", prefixes: []string{"anthropic/"}, nestedIDs: true},
	"gemini":                    {weir: "google", prefixes: []string{"gemini/"}, nestedIDs: true},
	"vertex_ai-language-models": {weir: "google", prefixes: []string{"vertex_ai/"}, fallback: true, nestedIDs: true},
	"bedrock":                   {weir: "bedrock", prefixes: []string{"bedrock/"}},
	"bedrock_converse":          {weir: "bedrock", prefixes: []string{"bedrock_converse/", "bedrock/"}},
	"azure":                     {weir: "azure", prefixes: []string{"azure/"}},
	"azure_text":                {weir: "azure", prefixes: []string{"azure_text/", "azure/"}},
	"mistral":                   {weir: "mistral", prefixes: []string{"mistral/"}, nestedIDs: true},
	"deepseek":                  {weir: "deepseek", prefixes: []string{"deepseek/"}, nestedIDs: true},
	"groq":                      {weir: "groq", prefixes: []string{"groq/"}, nestedIDs: true},
	"xai":                       {weir: "xai", prefixes: []string{"xai/"}, nestedIDs: true},
	"together_ai":               {weir: "together", prefixes: []string{"together_ai/"}, nestedIDs: true},
	"openrouter":                {weir: "openrouter", prefixes: []string{"openrouter/"}, nestedIDs: true},
	"fireworks_ai":              {weir: "fireworks", prefixes: []string{"fireworks_ai/"}, nestedIDs: true},
	"cohere":                    {weir: "cohere", prefixes: []string{"cohere/"}, nestedIDs: true},
	"cohere_chat":               {weir: "cohere", prefixes: []string{"cohere_chat/", "cohere/"}, nestedIDs: true},
	"perplexity":                {weir: "perplexity", prefixes: []string{"perplexity/"}, nestedIDs: true},
	"cerebras":                  {weir: "cerebras", prefixes: []string{"cerebras/"}, nestedIDs: true},
}

// llComp is one of Weir's token prices.
type llComp int

const (
	llInput llComp = iota
	llCacheRead
	llCacheWrite
	llCacheWrite1h
	llOutput
	llReasoning
	llInputAudio
	llOutputAudio
	llInputImage
	llOutputImage
)

func (c llComp) in(p *Prices) **Decimal {
	switch c {
	case llInput:
		return &p.Input
	case llCacheRead:
		return &p.CacheRead
	case llCacheWrite:
		return &p.CacheWrite
	case llCacheWrite1h:
		return &p.CacheWrite1h
	case llOutput:
		return &p.Output
	case llReasoning:
		return &p.Reasoning
	case llInputAudio:
		return &p.InputAudio
	case llOutputAudio:
		return &p.OutputAudio
	case llInputImage:
		return &p.InputImage
	default:
		return &p.OutputImage
	}
}

// litellmTokenKeys are LiteLLM's per-token price keys Weir imports. A key
// may carry a context threshold (_above_200k_tokens) and then a variant
// suffix (_priority, _flex, _batches).
var litellmTokenKeys = map[string]llComp{
	"input_cost_per_token":                      llInput,
	"cache_read_input_token_cost":               llCacheRead,
	"cache_creation_input_token_cost":           llCacheWrite,
	"cache_creation_input_token_cost_above_1hr": llCacheWrite1h,
	"output_cost_per_token":                     llOutput,
	"output_cost_per_reasoning_token":           llReasoning,
	"input_cost_per_audio_token":                llInputAudio,
	"output_cost_per_audio_token":               llOutputAudio,
	"input_cost_per_image_token":                llInputImage,
	"output_cost_per_image_token":               llOutputImage,
}

// LiteLLM's cost calculator applies a context threshold only to the
// llTiered prices and a service tier (_priority, _flex) only to the
// llServiceOK ones: a key combining any other price has no effect there,
// and is reported.
var (
	llTiered     = []llComp{llInput, llOutput, llCacheRead, llCacheWrite, llCacheWrite1h}
	llServiceOK  = []llComp{llInput, llOutput, llCacheRead, llCacheWrite, llInputAudio, llReasoning}
	llVariants   = []string{"priority", "flex", "batches"}
	llSvcVariant = []string{"flex", "priority"}
)

// llSlot is one token price at one context threshold (0: the base price).
type llSlot struct {
	above int64
	c     llComp
}

type llModel struct {
	key    string // the LiteLLM key
	prov   string // litellm_provider
	lp     litellmProvider
	fields map[string]json.RawMessage
}

type llOwner struct {
	key string // the LiteLLM key whose entry holds the id
	idx int    // in the sheet's entries
}

type litellmImport struct {
	rep     *ImportReport
	seen    map[string]bool // report lines, to keep them unique
	sheets  map[string]*Sheet
	owners  map[string]map[string]llOwner // provider -> lowercased id -> owner
	unknown map[string]int                // litellm_provider -> models left out
}

// ImportLiteLLM reads LiteLLM's price file, model_prices_and_context_window.json
// (an object from model key to prices in USD per token), into one sheet per
// provider Weir knows. A model key becomes an exact match with LiteLLM's
// routing prefix removed ("groq/llama-3.1-8b-instant" -> "llama-3.1-8b-instant"),
// and so do its "aliases"; the entry id is the Weir provider, "/" and the
// model id. Prices are converted exactly (2.5e-06 per token is 2.5 per
// million) and follow LiteLLM's cost rules:
//
//   - input, output, cache read and write (5-minute and "above_1hr"),
//     reasoning, audio and image token prices map to Prices;
//     input_cost_per_token_cache_hit is a cache read price when no
//     cache_read_input_token_cost is given.
//   - *_above_Nk_tokens prices become a context Tier above N*1000 tokens,
//     for the thresholds LiteLLM applies: those of an
//     input_cost_per_token_above_Nk_tokens price. xAI's thresholds are
//     inclusive in LiteLLM, so its tiers start at N*1000-1.
//   - input_cost_per_request becomes Fees.Requests (per 1,000 calls).
//   - search_context_cost_per_query becomes Fees.WebSearches (its medium
//     size, per 1,000 searches) only where LiteLLM charges it per search:
//     Anthropic, and Gemini models billed "per_query". Elsewhere it is a
//     fee per call that depends on the requested search context size.
//   - *_batches prices become Entry.Batch when they are one multiple of the
//     standard prices.
//   - *_priority and *_flex prices become Entry.ServiceTiers when every
//     price of the entry, as LiteLLM bills the tier, is one multiple of the
//     standard one (a price the tier does not list is the standard price);
//     otherwise, for an entry without context tiers, ServiceTierPrices.
//
// Where LiteLLM leaves a price out, Weir's defaults apply (docs/pricing.md),
// not LiteLLM's. Everything else is listed in the report, never guessed:
// price fields not imported, models without a token price, prices that are
// not a whole number of nano-dollars per million tokens (their model is
// left out), region- and deployment-specific keys, two keys for one model
// id at different prices, and providers Weir does not know.
func ImportLiteLLM(r io.Reader) ([]Sheet, ImportReport, error) {
	var rep ImportReport
	var doc map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, rep, fmt.Errorf("import litellm: %w", err)
	}
	if doc == nil {
		return nil, rep, errors.New("import litellm: want a JSON object of models")
	}
	imp := &litellmImport{rep: &rep, seen: map[string]bool{}, sheets: map[string]*Sheet{},
		owners: map[string]map[string]llOwner{}, unknown: map[string]int{}}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var primary, fallback []llModel
	for _, k := range keys {
		if k == "sample_spec" {
			continue // the documented shape, not a model
		}
		var fields map[string]json.RawMessage
		var prov string
		if json.Unmarshal(doc[k], &fields) != nil || fields == nil ||
			json.Unmarshal(fields["litellm_provider"], &prov) != nil || prov == "" {
			imp.skip(k + ": not a model entry (no litellm_provider)")
			continue
		}
		lp, ok := litellmProviders[prov]
		if !ok {
			imp.unknown[prov]++
			continue
		}
		m := llModel{key: k, prov: prov, lp: lp, fields: fields}
		if lp.fallback {
			fallback = append(fallback, m)
		} else {
			primary = append(primary, m)
		}
	}
	type pending struct {
		key, prov string
		idx       int
		aliases   []string
	}
	var aliases []pending
	for _, m := range slices.Concat(primary, fallback) {
		prov, idx, as := imp.model(m)
		if idx >= 0 && len(as) > 0 {
			aliases = append(aliases, pending{m.key, prov, idx, as})
		}
	}
	// Aliases come after every model key, which they never displace.
	for _, p := range aliases {
		s := imp.sheets[p.prov]
		e := &s.Entries[p.idx]
		for _, a := range p.aliases {
			low := strings.ToLower(a)
			if o, taken := imp.owners[p.prov][low]; taken {
				if o.idx != p.idx && !samePrices(s.Entries[o.idx], *e) {
					imp.skip(fmt.Sprintf("%s: alias %s not imported: key %s prices that id differently", e.ID, a, o.key))
				}
				continue
			}
			imp.owners[p.prov][low] = llOwner{key: p.key, idx: p.idx}
			e.Match.Exact = append(e.Match.Exact, a)
		}
	}
	provs := make([]string, 0, len(imp.unknown))
	for p := range imp.unknown {
		provs = append(provs, p)
	}
	sort.Strings(provs)
	for _, p := range provs {
		n := imp.unknown[p]
		plural := "s"
		if n == 1 {
			plural = ""
		}
		imp.skip(fmt.Sprintf("%s: provider unknown to Weir (%d model%s)", p, n, plural))
	}
	var sheets []Sheet
	for _, p := range KnownProviders {
		if s := imp.sheets[p]; s != nil {
			rep.Models += len(s.Entries)
			sheets = append(sheets, *s)
		}
	}
	return sheets, rep, nil
}

func (imp *litellmImport) skip(line string) {
	if !imp.seen[line] {
		imp.seen[line] = true
		imp.rep.Skipped = append(imp.rep.Skipped, line)
	}
}

// modelID removes LiteLLM's routing prefix from a model key; it returns ""
// and the reason when the key does not name a model id.
func (lp litellmProvider) modelID(key string) (string, string) {
	id := key
	for _, p := range lp.prefixes {
		if strings.HasPrefix(id, p) {
			id = id[len(p):]
			break
		}
	}
	switch {
	case id == "":
		return "", "no model id after the provider prefix"
	case !lp.nestedIDs && strings.Contains(id, "/"):
		return "", "region- or deployment-specific key, not a model id"
	case lp.weir == "fireworks" && strings.HasPrefix(id, "fireworks-ai-"),
		lp.weir == "together" && strings.HasPrefix(id, "together-ai-"):
		return "", "price of a model size class, not a model id"
	}
	return id, ""
}

// model imports one model; it returns the Weir provider, the entry's index
// in its sheet (-1 when left out) and the model's aliases.
func (imp *litellmImport) model(m llModel) (string, int, []string) {
	prov := m.lp.weir
	model, why := m.lp.modelID(m.key)
	if model == "" {
		imp.skip(m.key + ": " + why)
		return prov, -1, nil
	}
	id := prov + "/" + model
	e, notes, err := litellmEntry(id, model, m)
	if err != nil {
		imp.skip(id + ": " + err.Error())
		return prov, -1, nil
	}
	s := imp.sheets[prov]
	if s == nil {
		s = &Sheet{Provider: prov, Sources: []Source{{URL: litellmURL, Checked: "imported from LiteLLM"}}}
		imp.sheets[prov] = s
		imp.owners[prov] = map[string]llOwner{}
	}
	low := strings.ToLower(model)
	if o, taken := imp.owners[prov][low]; taken {
		if !samePrices(s.Entries[o.idx], e) {
			imp.skip(fmt.Sprintf("%s: key %s (%s) not imported: key %s prices the same id differently", id, m.key, m.prov, o.key))
		}
		return prov, -1, nil
	}
	for _, n := range notes {
		imp.skip(id + ": " + n)
	}
	imp.owners[prov][low] = llOwner{key: m.key, idx: len(s.Entries)}
	s.Entries = append(s.Entries, e)
	var aliases []string
	var list []json.RawMessage
	_ = json.Unmarshal(m.fields["aliases"], &list) // not a list: no aliases
	for _, raw := range list {
		var a string
		if json.Unmarshal(raw, &a) == nil {
			if a, _ := m.lp.modelID(a); a != "" {
				aliases = append(aliases, a)
			}
		}
	}
	return prov, len(s.Entries) - 1, aliases
}

// litellmPriceField tells a price field from a description or capability
// field (mode, max_tokens, supports_*...), which the import ignores.
func litellmPriceField(name string) bool {
	return strings.Contains(name, "cost") || strings.Contains(name, "pric") ||
		strings.Contains(name, "multiplier") || name == "provider_specific_entry"
}

// parseLiteLLMKey splits a per-token price key into its price, context
// threshold in tokens (0: none) and variant ("", "priority", "flex",
// "batches").
func parseLiteLLMKey(k string) (c llComp, above int64, variant string, ok bool) {
	for _, v := range llVariants {
		if s, found := strings.CutSuffix(k, "_"+v); found {
			k, variant = s, v
			break
		}
	}
	if i, j := strings.LastIndex(k, "_above_"), len(k)-len("_tokens"); i >= 0 && i+len("_above_") <= j && k[j:] == "_tokens" {
		n := k[i+len("_above_") : j]
		mult := int64(1)
		if s, found := strings.CutSuffix(n, "k"); found {
			n, mult = s, 1000
		}
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v <= 0 || v > math.MaxInt64/mult || n[0] == '+' {
			return 0, 0, "", false
		}
		k, above = k[:i], v*mult
	}
	c, ok = litellmTokenKeys[k]
	return c, above, variant, ok
}

// llBuild is one model's entry under construction.
type llBuild struct {
	m     llModel
	e     Entry
	notes []string // fields not imported
	// vars holds the per-token prices by variant ("": standard), keyOf the
	// key each came from.
	vars  map[string]map[llSlot]Decimal
	keyOf map[string]map[llSlot]string
}

// litellmEntry builds the entry of one model. It returns an error, which
// leaves the model out, when the model has no token price or an imported
// price cannot be converted exactly; notes list the fields not imported.
func litellmEntry(id, model string, m llModel) (Entry, []string, error) {
	b := &llBuild{m: m, e: Entry{ID: id, Match: Match{Exact: []string{model}}},
		vars: map[string]map[llSlot]Decimal{"": {}}, keyOf: map[string]map[llSlot]string{"": {}}}
	search, err := b.read()
	if err != nil {
		return Entry{}, nil, err
	}
	if err := b.prices(); err != nil {
		return Entry{}, nil, err
	}
	if search != "" {
		d, why, err := litellmSearchFee(m)
		switch {
		case err != nil:
			return Entry{}, nil, fmt.Errorf("%s: %w", search, err)
		case why != "":
			b.skipped(search, why)
		default:
			b.e.Fees.WebSearches = &d
		}
	}
	b.batch()
	for _, v := range llSvcVariant {
		b.serviceTier(v)
	}
	return b.e, b.notes, nil
}

func (b *llBuild) skipped(name, why string) {
	n := "field " + name + " not imported"
	if why != "" {
		n += " (" + why + ")"
	}
	b.notes = append(b.notes, n)
}

// read converts the model's price fields; it returns the name of the web
// search price, which depends on the provider's billing.
func (b *llBuild) read() (search string, err error) {
	names := make([]string, 0, len(b.m.fields))
	for k, raw := range b.m.fields {
		if litellmPriceField(k) && !isJSONNull(raw) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var cacheHit string
	for _, name := range names {
		switch name {
		case "input_cost_per_token_cache_hit":
			cacheHit = name
			continue
		case "search_context_cost_per_query":
			search = name
			continue
		case "input_cost_per_request":
			d, err := litellmAmount(b.m.fields[name], llPerRequest)
			if err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
			b.e.Fees.Requests = &d
			continue
		}
		c, above, variant, ok := parseLiteLLMKey(name)
		switch {
		case !ok:
			b.skipped(name, "")
			continue
		case above > 0 && !slices.Contains(llTiered, c),
			above == 0 && (variant == "priority" || variant == "flex") && !slices.Contains(llServiceOK, c):
			b.skipped(name, "LiteLLM does not apply it")
			continue
		}
		d, err := litellmAmount(b.m.fields[name], llPerToken)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		if b.vars[variant] == nil {
			b.vars[variant], b.keyOf[variant] = map[llSlot]Decimal{}, map[llSlot]string{}
		}
		b.vars[variant][llSlot{above, c}], b.keyOf[variant][llSlot{above, c}] = d, name
	}
	if cacheHit != "" {
		d, err := litellmAmount(b.m.fields[cacheHit], llPerToken)
		if err != nil {
			return "", fmt.Errorf("%s: %w", cacheHit, err)
		}
		std := b.vars[""]
		if cr, ok := std[llSlot{0, llCacheRead}]; !ok {
			std[llSlot{0, llCacheRead}] = d
		} else if cr != d {
			b.skipped(cacheHit, "differs from cache_read_input_token_cost, which is imported")
		}
	}
	return search, nil
}

// prices sets the entry's prices and context tiers. LiteLLM applies the
// thresholds of the input_cost_per_token_above_* prices, and only those.
func (b *llBuild) prices() error {
	std := b.vars[""]
	tierAbove := map[int64]int64{} // LiteLLM threshold -> Weir Tier.Above
	for s := range std {
		if s.above > 0 && s.c == llInput {
			a := s.above
			if b.m.prov == "xai" {
				a-- // LiteLLM bills xAI's higher tier from the threshold itself
			}
			if a > 0 {
				tierAbove[s.above] = a
			}
		}
	}
	var orphans []string
	for _, v := range slices.Concat([]string{""}, llVariants) {
		for s, name := range b.keyOf[v] {
			if _, ok := tierAbove[s.above]; s.above > 0 && !ok {
				orphans = append(orphans, name)
				delete(b.vars[v], s)
			}
		}
	}
	sort.Strings(orphans)
	for _, name := range orphans {
		b.skipped(name, "no input_cost_per_token threshold of its own, so LiteLLM never applies it")
	}
	for s, d := range std {
		if s.above == 0 {
			*s.c.in(&b.e.Prices) = ptr(d)
		}
	}
	if b.e.Prices == (Prices{}) {
		if mode, ok := stringField(b.m.fields, "mode"); ok {
			return fmt.Errorf("no token price (mode %s)", mode)
		}
		return errors.New("no token price")
	}
	ths := make([]int64, 0, len(tierAbove))
	for th := range tierAbove {
		ths = append(ths, th)
	}
	slices.Sort(ths)
	for _, th := range ths {
		t := Tier{Above: tierAbove[th]}
		for s, d := range std {
			if s.above == th {
				*s.c.in(&t.Prices) = ptr(d)
			}
		}
		b.e.Tiers = append(b.e.Tiers, t)
	}
	return nil
}

// batch sets the batch multiplier when the batch prices listed are one
// multiple of the standard ones.
func (b *llBuild) batch() {
	bv := b.vars["batches"]
	if len(bv) == 0 {
		return
	}
	var pairs [][2]Decimal
	exact := true
	for s, d := range bv {
		sd, ok := b.vars[""][s]
		exact = exact && ok
		pairs = append(pairs, [2]Decimal{sd, d})
	}
	r, ok := commonRatio(pairs)
	switch mult, mok := multiplierOf(r); {
	case exact && ok && r == nil:
		// Free either way: nothing to import.
	case exact && ok && mok:
		b.e.Batch = &mult
	default:
		b.reportAll("batches", "batch prices are not one multiple of the standard ones")
	}
}

// serviceTier imports the prices of service tier v (priority, flex) as
// LiteLLM bills them: a price the tier lists, else for reasoning the tier's
// output price, else the standard price. They are a multiplier when that
// is one multiple of every standard price, else the tier's own prices,
// which Weir applies instead of context tiers.
func (b *llBuild) serviceTier(v string) {
	tv, std := b.vars[v], b.vars[""]
	if len(tv) == 0 {
		return
	}
	exact, baseOnly := true, true
	for s := range tv {
		_, ok := std[s]
		exact = exact && ok
		baseOnly = baseOnly && s.above == 0
	}
	var pairs [][2]Decimal
	for s, sd := range std {
		d, ok := tv[s]
		if !ok && s.c == llReasoning {
			d, ok = tv[llSlot{s.above, llOutput}]
		}
		if !ok {
			d = sd
		}
		pairs = append(pairs, [2]Decimal{sd, d})
	}
	r, ok := commonRatio(pairs)
	mult, mok := multiplierOf(r)
	f := b.e.Fees
	if mok && mult != 1e9 && (f.Requests != nil && *f.Requests != 0 || f.WebSearches != nil && *f.WebSearches != 0) {
		mok = false // Weir would scale the fees too; LiteLLM does not
	}
	switch {
	case exact && ok && r == nil:
		// Free either way: nothing to import.
	case exact && ok && mok:
		if b.e.ServiceTiers == nil {
			b.e.ServiceTiers = map[string]Decimal{}
		}
		b.e.ServiceTiers[v] = mult
	case len(b.e.Tiers) == 0 && baseOnly:
		var p Prices
		for s, d := range tv {
			*s.c.in(&p) = ptr(d)
		}
		if _, ok := std[llSlot{0, llReasoning}]; ok && p.Reasoning == nil && p.Output != nil {
			p.Reasoning = ptr(*p.Output)
		}
		if b.e.ServiceTierPrices == nil {
			b.e.ServiceTierPrices = map[string]Prices{}
		}
		b.e.ServiceTierPrices[v] = p
	default:
		b.reportAll(v, v+" prices are not one multiple of the standard ones and the model has context tiers")
	}
}

// reportAll reports every price of variant v as not imported.
func (b *llBuild) reportAll(v, why string) {
	names := make([]string, 0, len(b.vars[v]))
	for s := range b.vars[v] {
		names = append(names, b.keyOf[v][s])
	}
	sort.Strings(names)
	for _, n := range names {
		b.skipped(n, why)
	}
}

// litellmSearchFee returns the price of 1,000 web searches, or why
// search_context_cost_per_query is not a price per search.
func litellmSearchFee(m llModel) (Decimal, string, error) {
	unit, _ := stringField(m.fields, "web_search_billing_unit")
	switch {
	case m.prov == "anthropic":
	case (m.prov == "gemini" || m.prov == "vertex_ai-language-models") && unit == "per_query":
	case m.prov == "gemini" || m.prov == "vertex_ai-language-models":
		return 0, "billed once per grounded prompt, not per search", nil
	default:
		return 0, "billed once per call by search context size, not per search", nil
	}
	var sizes map[string]json.RawMessage
	if err := json.Unmarshal(m.fields["search_context_cost_per_query"], &sizes); err != nil {
		return 0, "", errors.New("want an object of search context sizes")
	}
	raw, ok := sizes["search_context_size_medium"]
	if !ok || isJSONNull(raw) {
		return 0, "no search_context_size_medium, the price LiteLLM charges per search", nil
	}
	d, err := litellmAmount(raw, llPerSearch)
	return d, "", err
}

// Units of LiteLLM prices and of the Decimal they become.
var (
	llPerToken   = llUnit{1e6, "token", "million tokens"}
	llPerRequest = llUnit{1e3, "request", "1,000 requests"}
	llPerSearch  = llUnit{1e3, "search", "1,000 searches"}
)

type llUnit struct {
	per       int64
	one, many string
}

// litellmAmount converts a JSON number of USD per unit exactly into a
// Decimal of USD per u.per units.
func litellmAmount(raw json.RawMessage, u llUnit) (Decimal, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0, fmt.Errorf("price %.40s is not a number", s)
	}
	// Bound the exponent before big.Rat expands it.
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if x, err := strconv.Atoi(s[i+1:]); err != nil || x < -400 || x > 400 {
			return 0, fmt.Errorf("price %.40s per %s is out of range", s, u.one)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("price %.40s is not a number", s)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("negative price %.40s", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(u.per*1e9))
	if !r.IsInt() {
		return 0, fmt.Errorf("price %.40s per %s is not a whole number of nano-dollars per %s", s, u.one, u.many)
	}
	// Within what a catalog file may hold; a fee also within what the cost
	// engine scales to femto-dollars.
	limit := big.NewInt(1e18)
	if u != llPerToken {
		limit = big.NewInt(math.MaxInt64 / 1000)
	}
	if r.Num().Cmp(limit) > 0 {
		return 0, fmt.Errorf("price %.40s per %s is out of range", s, u.one)
	}
	return Decimal(r.Num().Int64()), nil
}

// commonRatio returns the one ratio b/a of the pairs, or nil when every pair
// is 0/0; false when the pairs have no common ratio.
func commonRatio(pairs [][2]Decimal) (*big.Rat, bool) {
	var r *big.Rat
	for _, p := range pairs {
		if p[0] == 0 {
			if p[1] != 0 {
				return nil, false
			}
			continue
		}
		q := big.NewRat(int64(p[1]), int64(p[0]))
		if r == nil {
			r = q
		} else if r.Cmp(q) != 0 {
			return nil, false
		}
	}
	return r, true
}

// multiplierOf converts a ratio to a multiplier a sheet may hold: above 0,
// with at most 6 decimals.
func multiplierOf(r *big.Rat) (Decimal, bool) {
	if r == nil || r.Sign() <= 0 {
		return 0, false
	}
	ppm := new(big.Rat).Mul(r, big.NewRat(million, 1))
	if !ppm.IsInt() || !ppm.Num().IsInt64() || ppm.Num().Int64() > math.MaxInt64/1000 {
		return 0, false
	}
	return Decimal(ppm.Num().Int64() * 1000), true
}

// samePrices reports whether two entries price alike, whatever their ids
// and matches.
func samePrices(a, b Entry) bool {
	a.ID, a.Match, b.ID, b.Match = "", Match{}, "", Match{}
	return reflect.DeepEqual(a, b)
}

func stringField(fields map[string]json.RawMessage, name string) (string, bool) {
	var s string
	err := json.Unmarshal(fields[name], &s)
	return s, err == nil && s != ""
}

func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func ptr(d Decimal) *Decimal { return &d }
