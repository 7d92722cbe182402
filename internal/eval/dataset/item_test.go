package dataset

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestItemValidate(t *testing.T) {
	msgs := json.RawMessage(`[{"role":"user","content":"x"}]`)
	for _, tc := range []struct {
		name string
		it   Item
		ok   bool
	}{
		{"messages", Item{Messages: msgs}, true},
		{"variables", Item{Variables: json.RawMessage(`{"a":1}`)}, true},
		{"assistant without content", Item{Messages: json.RawMessage(`[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[]}]`)}, true},
		{"everything", Item{ID: "a:1.b_c-d", Messages: msgs, Expected: json.RawMessage(`{"a":[1]}`), Metadata: json.RawMessage(`{}`), Tags: []string{"é tag"}, Split: "canary", SourceCall: "req_1"}, true},
		{"no input", Item{Expected: json.RawMessage(`"x"`)}, false},
		{"both inputs", Item{Messages: msgs, Variables: json.RawMessage(`{}`)}, false},
		{"null variables", Item{Variables: json.RawMessage(`null`)}, false},
		{"messages object", Item{Messages: json.RawMessage(`{"role":"user"}`)}, false},
		{"no role", Item{Messages: json.RawMessage(`[{"content":"x"}]`)}, false},
		{"user without content", Item{Messages: json.RawMessage(`[{"role":"user"}]`)}, false},
		{"variables array", Item{Variables: json.RawMessage(`[1]`)}, false},
		{"expected not json", Item{Messages: msgs, Expected: json.RawMessage(`nope`)}, false},
		{"metadata string", Item{Messages: msgs, Metadata: json.RawMessage(`"x"`)}, false},
		{"bad id", Item{ID: "a b", Messages: msgs}, false},
		{"long id", Item{ID: strings.Repeat("a", 129), Messages: msgs}, false},
		{"tag comma", Item{Messages: msgs, Tags: []string{"a,b"}}, false},
		{"tag space", Item{Messages: msgs, Tags: []string{" a"}}, false},
		{"too many tags", Item{Messages: msgs, Tags: strings.Split(strings.Repeat("t,", 33), ",")[:33]}, false},
		{"split space", Item{Messages: msgs, Split: "a b"}, false},
		{"too big", Item{Variables: json.RawMessage(`{"a":"` + strings.Repeat("x", maxItemBytes) + `"}`)}, false},
	} {
		err := tc.it.Validate()
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	it := Item{Messages: json.RawMessage("[ {\"role\" : \"user\", \"content\": \"x\"} ]")}
	if err := it.Validate(); err != nil || string(it.Messages) != `[{"role":"user","content":"x"}]` {
		t.Errorf("not compacted: %s %v", it.Messages, err)
	}
	for _, n := range []string{"", "-a", "a b", strings.Repeat("a", 129)} {
		if CheckName(n) == nil {
			t.Errorf("CheckName(%q) passed", n)
		}
	}
}
