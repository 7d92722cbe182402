package auth

import (
	"strings"
	"testing"
)

const storedHash = "$argon2id$v=19$m=19456,t=2,p=1$yE3CglbYX5vLu3cAT5B8LQ$axgYKEdE76vLgoU5o4EOq0Pc/tichGxHR88+JRz8TRA"

func TestHashAndVerify(t *testing.T) {
	p := HashParams{MemoryKiB: 64, Time: 1, Threads: 1}
	h, err := HashPassword("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q", h)
	}
	h2, _ := HashPassword("correct horse battery", p)
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batter": false, "": false} {
		if ok, err := VerifyPassword(h, pw); ok != want || err != nil {
			t.Errorf("verify %q: %v %v", pw, ok, err)
		}
	}
	// A hash stored at the default costs by an earlier build: parameters
	// are read from the stored string, so a change of the defaults (or of
	// the encoding code) must keep old hashes valid.
	if ok, err := VerifyPassword(storedHash, "hunter2hunter2"); !ok || err != nil {
		t.Errorf("stored default-cost hash: %v %v", ok, err)
	}
}

func TestParsePHC(t *testing.T) {
	for _, s := range []string{
		"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=64,t=1,p=1$$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAA",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
	} {
		if _, err := parsePHC(s); err == nil {
			t.Errorf("parsed %q", s)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43))
	f.Add(storedHash)
	f.Add("$argon2id$v=19$m=1048577,t=1,p=1$c2FsdHNhbHQ$AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if h.p.MemoryKiB > maxHashMemoryKiB || h.p.Time < 1 || h.p.Threads < 1 || len(h.salt) < 8 || len(h.key) < 16 {
			t.Fatalf("accepted out-of-range %q: %+v", s, h.p)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{"short": false, "twelve chars": true, "\xff\xfe twelve chars": false, strings.Repeat("x", 1025): false, "ünïcödé wörds": true} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("%q: %v", pw, err)
		}
	}
}

func TestRoles(t *testing.T) {
	for _, c := range []struct {
		r, o Role
		want bool
	}{{Admin, Admin, true}, {Admin, Reviewer, true}, {Finance, Viewer, true}, {Finance, Admin, false}, {Finance, Owner, false},
		{Owner, Owner, true}, {Reviewer, Viewer, false}, {Reviewer, Reviewer, true}, {Viewer, Viewer, true}, {Viewer, Finance, false}} {
		if got := c.r.Covers(c.o); got != c.want {
			t.Errorf("%s covers %s: %v", c.r, c.o, got)
		}
	}
	if r, err := ParseRole("use-case-owner"); r != Owner || err != nil {
		t.Errorf("use-case-owner: %v %v", r, err)
	}
}

func TestCSRFToken(t *testing.T) {
	a, b := CSRFToken("s1"), CSRFToken("s2")
	if a == b || !CheckCSRF("s1", a) || CheckCSRF("s1", b) || CheckCSRF("s1", "") {
		t.Error("CSRF tokens do not tell sessions apart")
	}
}
