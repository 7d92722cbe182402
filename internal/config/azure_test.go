package config

import (
	"strings"
	"testing"
)

var azureEnv = testEnv(map[string]string{"AZURE_OPENAI_API_KEY": "azure-key-secret", "AZURE_OPENAI_TOKEN": "eyJ0eXAi.entra.token"})

func TestAzureProvider(t *testing.T) {
	cfg, err := Load("testdata/azure/good.yaml", azureEnv)
	if err != nil {
		t.Fatal(err)
	}
	a, v1 := cfg.Providers[0], cfg.Providers[1]
	if a.APIVersion != "2024-10-21" || a.Auth != "" || a.Deployments["prod-chat"] != "gpt-4o-2024-08-06" || a.APIKey.Value() != "azure-key-secret" {
		t.Errorf("azure: %+v", a)
	}
	if v1.APIVersion != "v1" || v1.Auth != "entra_id" || v1.APIKey.Value() != "eyJ0eXAi.entra.token" {
		t.Errorf("azure-v1: %+v", v1)
	}
	if r := cfg.Redacted().Providers[1]; strings.Contains(r.APIKey.Value(), "entra") {
		t.Errorf("the token is not redacted: %+v", r.APIKey)
	}
}

func TestAzureProviderBad(t *testing.T) {
	_, err := Load("testdata/azure/bad.yaml", azureEnv)
	if err == nil {
		t.Fatal("loaded without error")
	}
	for _, w := range []string{
		"providers[0].base_url: is required for type azure",
		`providers[0].auth: "managed_identity": want api_key or entra_id`,
		`providers[0].deployments: "": "gpt-4o": deployment and model must not be empty`,
		"providers[1]: api_version, auth and deployments apply to type azure only",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
