package tokencount

import "testing"

func TestCount(t *testing.T) {
	c := New()
	// o200k splits "Hello, world!" into Hello , world ! = 4 tokens.
	if n, err := c.Count("Hello, world!"); err != nil || n != 4 {
		t.Errorf("Count = %d, %v; want 4", n, err)
	}
	if n, _ := c.Count(""); n != 0 {
		t.Errorf("empty = %d", n)
	}
}

func TestChatInput(t *testing.T) {
	c := New()
	// two messages: 3 (reply) + 2*3 (framing) + tokens("system"+"Be brief.") + tokens("user"+"Hello, world!")
	body := `{"model":"x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hello, world!"}]}]}`
	sys, _ := c.Count("systemBe brief.")
	usr, _ := c.Count("userHello, world!")
	n, err := c.ChatInput([]byte(body))
	if err != nil || n != 9+sys+usr {
		t.Errorf("ChatInput = %d, %v; want %d", n, err, 9+sys+usr)
	}
	if _, err := c.ChatInput([]byte(`{"messages":`)); err == nil {
		t.Error("broken JSON accepted")
	}
}

func TestMessagesInput(t *testing.T) {
	c := New()
	body := `{"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":"Hello, world!"}]}`
	text, _ := c.Count("Be brief.Hello, world!")
	n, err := c.MessagesInput([]byte(body))
	if err != nil || n != 6+text {
		t.Errorf("MessagesInput = %d, %v; want %d", n, err, 6+text)
	}
}

func TestEmbeddingsInput(t *testing.T) {
	c := New()
	for body, want := range map[string]int{
		`{"input":"Hello, world!"}`:           4,
		`{"input":["Hello, world!","Hello"]}`: 5,
		`{"input":[1,2,3]}`:                   3,
		`{"input":[[1,2],[3]]}`:               3,
	} {
		if n, err := c.EmbeddingsInput([]byte(body)); err != nil || n != want {
			t.Errorf("EmbeddingsInput(%s) = %d, %v; want %d", body, n, err, want)
		}
	}
	if _, err := c.EmbeddingsInput([]byte(`{"input":{}}`)); err == nil {
		t.Error("object input accepted")
	}
}

func FuzzChatInput(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`))
	c := New()
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := c.ChatInput(b); err == nil && n < perReply {
			t.Fatalf("estimate %d below the reply priming", n)
		}
	})
}
