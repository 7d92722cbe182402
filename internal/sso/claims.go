package sso

import (
	"fmt"
	"strings"
)

// identity reads the person from verified ID token claims.
func identity(issuer, subject string, claims map[string]any, groupsClaim string) (Identity, error) {
	id := Identity{Issuer: issuer, Subject: subject}
	if subject == "" {
		return id, fmt.Errorf("no sub claim")
	}
	id.Email, _ = claims["email"].(string)
	id.Email = strings.TrimSpace(id.Email)
	switch v := claims["email_verified"].(type) {
	case bool:
		id.EmailVerified = v
	case string: // some providers (AWS Cognito) send "true"
		id.EmailVerified = v == "true"
	}
	id.Name, _ = claims["name"].(string)
	if id.Name == "" {
		id.Name, _ = claims["preferred_username"].(string)
	}
	groups, err := groupsOf(claims, groupsClaim)
	if err != nil {
		return id, err
	}
	id.Groups = groups
	return id, nil
}

// groupsOf reads the groups claim: the key itself when present (namespaced
// claim names contain dots), else a dotted path into nested objects. A
// missing claim is no groups; a string is one group.
func groupsOf(claims map[string]any, name string) ([]string, error) {
	v, ok := claims[name]
	if !ok {
		var cur any = claims
		for part := range strings.SplitSeq(name, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return nil, nil
			}
			if cur, ok = m[part]; !ok {
				return nil, nil
			}
		}
		v = cur
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, g := range v {
			s, ok := g.(string)
			if !ok {
				return nil, fmt.Errorf("claim %s holds a %T, not a list of strings", name, g)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("claim %s holds a %T, not a list of strings", name, v)
}
