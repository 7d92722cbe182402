package azure

import (
	"testing"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/providertest"
)

func TestConformance(t *testing.T) {
	for _, version := range []string{"", APIVersionV1} {
		t.Run("api_version="+version, func(t *testing.T) {
			providertest.Run(t, providertest.Suite{
				New: func(cfg provider.Config) (any, error) {
					cfg.Azure = &provider.Azure{APIVersion: version}
					return Factory(cfg)
				},
				Protocol: providertest.OpenAI,
			})
		})
	}
}
