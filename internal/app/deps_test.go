package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestArchitecture checks the import rules docs/architecture.md states, on
// the transitive dependencies of each package.
func TestArchitecture(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/weirhq/weir/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/weirhq/weir/"
	rules := []struct {
		pkgPrefix string
		forbidden []string
		why       string
	}{
		{mod + "internal/provider", []string{mod + "internal/gateway", mod + "internal/store", mod + "internal/recorder", mod + "internal/app", mod + "internal/api"}, "providers never import the gateway, the store or the recorder"},
		{mod + "internal/gateway", []string{mod + "internal/store", mod + "internal/recorder", mod + "internal/app"}, "the gateway reaches the store only through its Recorder interface"},
		{mod + "internal/store", []string{mod + "internal/gateway", mod + "internal/provider", mod + "internal/recorder"}, "the store knows records, nothing of the gateway"},
		{mod + "internal/usage", []string{mod + "internal/"}, "usage imports nothing of Weir's"},
		{mod + "internal/apierror", []string{mod + "internal/"}, "apierror imports nothing of Weir's"},
		{mod + "internal/sso", []string{mod + "internal/store", mod + "internal/auth", mod + "internal/app", mod + "internal/api", mod + "internal/config"}, "single sign-on knows people only through its Sessions interface"},
		{mod + "internal/", []string{"github.com/openai/openai-go", "github.com/anthropics/anthropic-sdk-go"}, "SDKs are test clients, never product code"},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for _, r := range rules {
			if !within(pkg, r.pkgPrefix) {
				continue
			}
			checked++
			for _, d := range deps {
				for _, f := range r.forbidden {
					if within(d, f) && !within(d, r.pkgPrefix) {
						t.Errorf("%s depends on %s: %s", pkg, d, r.why)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d package/rule pairs checked: is go list output parsed?", checked)
	}
}

// within reports whether pkg is prefix or below it; a prefix ending in "/"
// matches everything under it.
func within(pkg, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(pkg, prefix)
	}
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}
