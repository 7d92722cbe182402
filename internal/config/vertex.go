package config

import (
	"net/url"
	"strings"
)

// vertexBaseURL reports whether raw is a Vertex AI location root: an http(s)
// URL whose path ends in /projects/PROJECT/locations/LOCATION (the adapter
// appends /publishers/google/models/MODEL:method).
func vertexBaseURL(raw string) bool {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	n := len(parts)
	return n >= 4 && parts[n-4] == "projects" && parts[n-3] != "" && parts[n-2] == "locations" && parts[n-1] != ""
}
