package config

import (
	"strings"
	"testing"
)

func bedrockEnv(k string) (string, bool) {
	v, ok := map[string]string{"AKID": "AKIAEXAMPLE", "SECRET": "wJalrXUtnFEMI/K7MDENG"}[k]
	return v, ok
}

func TestBedrockGood(t *testing.T) {
	cfg, err := Parse([]byte(`
providers:
  - name: bedrock
    type: bedrock
    region: us-east-1
    aws_access_key_id: env:AKID
    aws_secret_access_key: env:SECRET
  - name: bedrock-eu
    type: bedrock
    region: eu-central-1
    aws_profile: prod
`), bedrockEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p := cfg.Providers[0]
	if p.Region != "us-east-1" || p.AWSAccessKeyID.Value() != "AKIAEXAMPLE" || p.AWSSecretAccessKey.Value() != "wJalrXUtnFEMI/K7MDENG" {
		t.Errorf("provider = %+v", p)
	}
	if cfg.Providers[1].AWSProfile != "prod" {
		t.Errorf("aws_profile = %q, want prod", cfg.Providers[1].AWSProfile)
	}
	if s := cfg.String(); strings.Contains(s, "wJalrXUtnFEMI") || strings.Contains(s, "AKIAEXAMPLE") {
		t.Errorf("the redacted config shows an AWS key: %s", s)
	}
}

func TestBedrockBad(t *testing.T) {
	_, err := Parse([]byte(`
providers:
  - name: a
    type: bedrock
    region: US East
    aws_access_key_id: env:AKID
  - name: b
    type: openai
    region: us-east-1
`), bedrockEnv)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`providers[0]: aws_access_key_id and aws_secret_access_key go together`,
		`providers[0].region: "US East" is not an AWS region name`,
		`providers[1]: region, aws_profile, aws_access_key_id and aws_secret_access_key apply to type bedrock only`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
