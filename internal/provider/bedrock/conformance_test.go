package bedrock

import (
	"testing"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/providertest"
)

// TestConformance runs the suite with a Bedrock API key (bearer token).
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Suite{
		New:      Factory,
		Protocol: providertest.Bedrock,
	})
}

// TestConformanceSigV4 runs it again with requests signed with SigV4: the
// configured key becomes the secret access key, which the simulator checks
// every signature against. A caller's own key (Request.APIKey) is still
// sent as a bearer token.
func TestConformanceSigV4(t *testing.T) {
	providertest.Run(t, providertest.Suite{
		New: func(cfg provider.Config) (any, error) {
			cfg.AWS = &provider.AWS{Region: "us-east-1", AccessKeyID: "AKIAWEIRCONFORMANCE", SecretAccessKey: cfg.APIKey}
			cfg.APIKey = ""
			return New(cfg)
		},
		Protocol: providertest.Bedrock,
	})
}
