package config

import (
	"strings"
	"testing"
)

var vertexEnv = testEnv(map[string]string{"GEMINI_API_KEY": "gemini-key-secret", "VERTEX_ACCESS_TOKEN": "ya29.vertex-token"})

func TestVertexProvider(t *testing.T) {
	cfg, err := Load("testdata/vertex/good.yaml", vertexEnv)
	if err != nil {
		t.Fatal(err)
	}
	if g, v := cfg.Providers[0], cfg.Providers[1]; g.Type != "gemini" || g.APIKey.Value() != "gemini-key-secret" || v.APIKey.Value() != "ya29.vertex-token" {
		t.Errorf("providers: %+v %+v", g, v)
	}
	if r := cfg.Redacted().Providers[1]; strings.Contains(r.APIKey.Value(), "ya29") {
		t.Errorf("the token is not redacted: %+v", r.APIKey)
	}
}

func TestVertexProviderBad(t *testing.T) {
	_, err := Load("testdata/vertex/bad.yaml", vertexEnv)
	if err == nil {
		t.Fatal("loaded without error")
	}
	for _, w := range []string{
		`providers[0].base_url: "": type vertex needs the Vertex AI location root`,
		`providers[1].base_url: "https://us-central1-aiplatform.googleapis.com/v1/projects/acme-prod": type vertex needs`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestVertexBaseURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4": true,
		"https://aiplatform.googleapis.com/v1beta1/projects/p/locations/global/":              true,
		"http://127.0.0.1:8080/v1/projects/p/locations/l":                                     true,
		"https://aiplatform.googleapis.com/v1/projects/p/locations/":                          false,
		"https://aiplatform.googleapis.com/v1/projects//locations/l":                          false,
		"https://generativelanguage.googleapis.com/v1beta":                                    false,
		"gs://bucket/projects/p/locations/l":                                                  false,
		"":                                                                                    false,
	} {
		if got := vertexBaseURL(raw); got != want {
			t.Errorf("vertexBaseURL(%q) = %v, want %v", raw, got, want)
		}
	}
}
