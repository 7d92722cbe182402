package gemini

import (
	"testing"

	"github.com/weirhq/weir/internal/provider/providertest"
)

// Gemini reports usage as the suite expects of the OpenAI protocol:
// thoughts apart from the answer (reasoning_tokens), cache reads
// (cachedContentTokenCount) but no cache-write figure. The simulator serves
// both the Gemini API and Vertex AI paths.

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Suite{
		New:      Factory,
		BaseURL:  func(url string) string { return url + "/v1beta" },
		Protocol: providertest.OpenAI,
	})
}

func TestConformanceVertex(t *testing.T) {
	providertest.Run(t, providertest.Suite{
		New:      VertexFactory,
		BaseURL:  func(url string) string { return url + "/v1/projects/weir-test/locations/us-central1" },
		Protocol: providertest.OpenAI,
	})
}
