package openai

import (
	"testing"

	"github.com/weirhq/weir/internal/provider/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Suite{
		New:      Factory,
		BaseURL:  func(url string) string { return url + "/v1" },
		Protocol: providertest.OpenAI,
	})
}
