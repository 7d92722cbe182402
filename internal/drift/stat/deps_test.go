package stat

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the package pure: everything it imports,
// directly or not, is in the standard library.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("go list gave %d lines: is its output parsed?", len(lines))
	}
	for _, line := range lines {
		path, std, _ := strings.Cut(line, " ")
		if std != "true" && path != "github.com/weirhq/weir/internal/drift/stat" {
			t.Errorf("internal/drift/stat depends on %s, which is not in the standard library", path)
		}
	}
}
