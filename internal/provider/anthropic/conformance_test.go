package anthropic

import (
	"testing"

	"github.com/weirhq/weir/internal/provider/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Suite{
		New:      Factory,
		BaseURL:  func(url string) string { return url },
		Protocol: providertest.Anthropic,
	})
}
