package behaviour

import (
	"strings"
	"testing"
)

func TestIsRefusal(t *testing.T) {
	long := "Here is a complete walkthrough of setting up the service. First, install the package with your " +
		"package manager, then write the configuration file as shown below, and finally start it. Note that " +
		"I can't help with Windows specifics, but Linux and macOS work."
	positives := []string{
		"I can't help with that.",
		"I cannot help with that request.",
		"I can not assist with this.",
		"I won't help with that.",
		"I will not provide instructions for that.",
		"I'm sorry, but I can't help with that.",
		"I’m sorry, but I can’t assist with that request.", // curly apostrophes
		"Sorry, I can't help with that.",
		"Sorry — I cannot comply with this request.",
		"I apologize, but I cannot fulfill this request.",
		"I apologise, but I'm unable to fulfil that.",
		"Unfortunately, I am unable to provide that information.",
		"Unfortunately, I'm not able to share those details.",
		"I'm unable to generate that content.",
		"I am not able to create that image.",
		"I'm afraid I can't do that.",
		"I'm sorry. I can't do that.",
		"I must decline to answer that.",
		"I must decline this request.",
		"I must decline.",
		"As an AI language model, I cannot engage in that kind of conversation.",
		"I'm sorry, but as an AI, I can't support that.",
		"We can't assist with that request.",
		"We're unable to help with this.",
		"I won't be able to help with that.",
		"I really can't help with this one.",
		"I can't and won't help with that.",
		"  \n\nI   CANNOT   PROVIDE   that.",
		"**I'm sorry, but I can't help with that.**",
		"No, I can't answer that.",
		"I unfortunately cannot provide legal advice.",
	}
	negatives := []string{
		"",
		"   ",
		"I'm sorry for the confusion — here is the fixed code:\n\n```go\nfmt.Println(1)\n```",
		"I cannot stress enough how important it is to back up your data.",
		"You can't use X here; use Y instead.",
		long,
		"```python\n# this cannot help you\nprint('I cannot help')\n```",
		"err := errors.New(\"cannot help\")",
		`{"answer": "I can't help with that"}`,
		"[1, 2, 3]",
		"<p>I can't help with that</p>",
		"I can't help but notice that your loop is off by one. Here's the fix.",
		"I can't wait to help you with this project!",
		"Sorry about that! You can't call await outside an async function.",
		"I can't believe I missed that. Here is the corrected version.",
		"Unfortunately, the API cannot provide historical data before 2020.",
		"Unfortunately, I can't access the internet, but here is what I know about the topic.",
		"Sure! I can help with that.",
		"I can help with that. First, ...",
		"Certainly. The function cannot help you if the input is empty, so check it first.",
		"The answer is 42.",
		"Great question — I will not only explain it but also provide an example.",
		"We cannot guarantee ordering, so sort the results yourself.",
		"I'm sorry to hear that. Here are some steps that might help.",
		"Sorry for the delay! Here's the summary you asked for.",
		"If the user says 'I can't help with that', mark the ticket as refused.",
		"Yes, I can do that for you.",
		"Hello! How can I help you today?",
		strings.Repeat("Helpful text. ", 20) + "I can't help with that.",
	}
	for _, s := range positives {
		if !IsRefusal([]byte(s)) {
			t.Errorf("IsRefusal(%q) = false, want true", s)
		}
	}
	for _, s := range negatives {
		if IsRefusal([]byte(s)) {
			t.Errorf("IsRefusal(%q) = true, want false", s)
		}
	}
	if len(positives) < 25 || len(negatives) < 25 {
		t.Errorf("%d positives, %d negatives: want at least 25 of each", len(positives), len(negatives))
	}
}

func TestValidJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode JSONMode
		want bool
	}{
		{`{"a":1}`, JSONObject, true},
		{"  {\"a\":1}\n", JSONObject, true},
		{`[1,2]`, JSONObject, false},
		{`[1,2]`, JSONSchema, true},
		{`"s"`, JSONSchema, true},
		{`{"a":1`, JSONObject, false},
		{"```json\n{\"a\":1}\n```", JSONObject, false},
		{``, JSONSchema, false},
		{`{"a":1} trailing`, JSONSchema, false},
	} {
		if got := ValidJSON([]byte(tc.in), tc.mode); got != tc.want {
			t.Errorf("ValidJSON(%q, %d) = %v, want %v", tc.in, tc.mode, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	text := func(s string, limit int) *Text {
		tx := &Text{Limit: limit}
		tx.Add(s)
		return tx
	}
	for _, tc := range []struct {
		name    string
		a       Answer
		content *Text
		mode    JSONMode
		failed  bool
		want    Verdict
	}{
		{"plain answer", Answer{}, text("Hello", 0), JSONNone, false, Verdict{}},
		{"heuristic refusal", Answer{}, text("I can't help with that.", 0), JSONNone, false, Verdict{Refusal: true}},
		{"provider refusal, empty content", Answer{Refused: true}, text("", 0), JSONNone, false, Verdict{Refusal: true}},
		{"tool call never refuses", Answer{ToolCall: true, Refused: true}, text("I can't help with that.", 0), JSONObject, false, Verdict{}},
		{"json valid", Answer{}, text(`{"a":1}`, MaxContent), JSONObject, false, Verdict{JSONChecked: true, JSONValid: true}},
		{"json invalid", Answer{}, text(`{"a":`, MaxContent), JSONObject, false, Verdict{JSONChecked: true}},
		{"json empty", Answer{}, text(``, MaxContent), JSONSchema, false, Verdict{JSONChecked: true}},
		{"json not asked", Answer{}, text(`{"a":1}`, 0), JSONNone, false, Verdict{}},
		{"json on failure", Answer{}, text(`{"a":1}`, MaxContent), JSONObject, true, Verdict{}},
		{"json refusal", Answer{Refused: true}, text(`{"a":1}`, MaxContent), JSONSchema, false, Verdict{Refusal: true}},
		{"json too long", Answer{}, text(`{"a":"long"}`, 5), JSONSchema, false, Verdict{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Judge(tc.a, tc.content, tc.mode, tc.failed)
			if got != tc.want {
				t.Errorf("Judge = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	var tx Text
	tx.Add(strings.Repeat("a", 300))
	tx.Add(strings.Repeat("b", 300))
	if len(tx.Bytes()) != PrefixBytes || !tx.Over() {
		t.Errorf("len %d over %v, want %d true", len(tx.Bytes()), tx.Over(), PrefixBytes)
	}
	big := Text{Limit: 2000}
	big.Add(strings.Repeat("a", 600))
	big.addRaw([]byte(`x\"y\u00e9`))
	if got, want := big.String()[600:], `x"yé`; got != want || big.Over() {
		t.Errorf("got %q over %v, want %q false", got, big.Over(), want)
	}
	// A cut inside an escape backs off to the escape's start.
	cut := Text{Limit: 4}
	cut.addRaw([]byte(`ab\u00e9cd`))
	if got := cut.String(); got != "ab" || !cut.Over() {
		t.Errorf("cut = %q over %v, want \"ab\" true", got, cut.Over())
	}
	var short Text
	if n := testing.AllocsPerRun(100, func() {
		tx := &short
		*tx = Text{}
		tx.Add("I can't help with that.")
		tx.addRaw([]byte(`\"quoted\"`))
		IsRefusal(tx.Bytes())
	}); n != 0 {
		t.Errorf("short text and heuristic: %v allocations, want 0", n)
	}
}

func TestChunkRefusal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`data: {"choices":[{"index":0,"delta":{"refusal":"I can't help"}}]}`, true},
		{`data: {"choices":[{"index":0,"delta":{"refusal" : "x"}}]}`, true},
		{`data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null}}]}`, false},
		{`data: {"choices":[{"index":0,"delta":{"refusal":""}}]}`, false},
		{`data: {"choices":[{"index":0,"delta":{"content":"the \"refusal\": \"x\" key"}}]}`, false},
		{`data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}`, false},
		{`data: {"refusal"`, false},
	} {
		if got := ChunkRefusal([]byte(tc.in)); got != tc.want {
			t.Errorf("ChunkRefusal(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		body      string
		anthropic bool
		want      JSONMode
	}{
		{`{"response_format":{"type":"json_object"}}`, false, JSONObject},
		{`{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}}}`, false, JSONSchema},
		{`{"response_format":{"type":"text"}}`, false, JSONNone},
		{`{"response_format":"json"}`, false, JSONNone},
		{`{"messages":[]}`, false, JSONNone},
		{`{"output_config":{"format":{"type":"json_schema","schema":{}}}}`, true, JSONSchema},
		{`{"output_config":{"effort":"high"}}`, true, JSONNone},
		{`{"output_format":{"type":"json_schema","schema":{}}}`, true, JSONSchema},
		{`{"response_format":{"type":"json_object"}}`, true, JSONNone},
	} {
		if got := RequestMode([]byte(tc.body), tc.anthropic); got != tc.want {
			t.Errorf("RequestMode(%s, %v) = %d, want %d", tc.body, tc.anthropic, got, tc.want)
		}
	}
}

func TestStreamRefusal(t *testing.T) {
	content := []byte(`data: {"choices":[{"index":0,"delta":{"content":"x"}}]}`)
	refusal := []byte(`data: {"choices":[{"index":0,"delta":{"refusal":"No."}}]}`)
	var early StreamRefusal
	early.Chunk([]byte(`data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""}}]}`))
	early.Chunk(refusal)
	if !early.Refused() {
		t.Error("a refusal in the second chunk was missed")
	}
	var late StreamRefusal
	for range refusalChunks {
		late.Chunk(content)
	}
	late.Chunk(refusal)
	if late.Refused() {
		t.Errorf("a refusal after %d content chunks counted: only the first are read", refusalChunks)
	}
}
