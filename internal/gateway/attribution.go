package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/record"
)

// Attribution headers. All are optional; a present but invalid one is a 400.
const (
	HeaderUseCase         = "X-Weir-Use-Case"
	HeaderUseCaseInstance = "X-Weir-Use-Case-Instance"
	HeaderUseCaseVersion  = "X-Weir-Use-Case-Version"
	HeaderUseCaseStep     = "X-Weir-Use-Case-Step"
	HeaderUser            = "X-Weir-User"
	HeaderAccount         = "X-Weir-Account"
	HeaderTeam            = "X-Weir-Team"
	HeaderTags            = "X-Weir-Tags"
	HeaderProperties      = "X-Weir-Properties"
	HeaderNoLog           = "X-Weir-No-Log"
	HeaderProviderKey     = "X-Weir-Provider-Key"
	HeaderRequestID       = "X-Weir-Request-Id"
)

// Limits on attribution values.
const (
	maxValueLen      = 256
	maxTags          = 32
	maxTagLen        = 64
	maxPropertiesLen = 8 << 10
)

func badHeader(name, format string, args ...any) *apierror.Error {
	e := apierror.New(apierror.InvalidRequest, "invalid "+name+" header: "+format, args...)
	e.Param = strings.ToLower(name)
	e.Code = "invalid_header"
	return e
}

// single returns the trimmed value of a header that may be sent at most once
// and must not be empty when sent.
func single(h http.Header, name string) (string, bool, error) {
	vals := h.Values(name)
	switch {
	case len(vals) == 0:
		return "", false, nil
	case len(vals) > 1:
		return "", false, badHeader(name, "sent %d times, send it once", len(vals))
	}
	v := strings.TrimSpace(vals[0])
	if v == "" {
		return "", false, badHeader(name, "empty value")
	}
	return v, true, nil
}

// parseAttribution reads the x-weir-* headers. On error it still returns
// the headers read so far, so the refused call is recorded with them.
func parseAttribution(h http.Header) (record.Attribution, error) {
	var a record.Attribution
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{HeaderUseCase, &a.UseCase}, {HeaderUseCaseInstance, &a.UseCaseInstance},
		{HeaderUseCaseVersion, &a.UseCaseVersion}, {HeaderUseCaseStep, &a.UseCaseStep},
		{HeaderUser, &a.User}, {HeaderAccount, &a.Account}, {HeaderTeam, &a.Team},
	} {
		v, ok, err := single(h, f.name)
		if err != nil {
			return a, err
		}
		if !ok {
			continue
		}
		if err := checkValue(f.name, v, maxValueLen); err != nil {
			return a, err
		}
		*f.dst = v
	}
	if v, ok, err := single(h, HeaderTags); err != nil {
		return a, err
	} else if ok {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "" {
				return a, badHeader(HeaderTags, "empty tag in %q (a comma-separated list of non-empty tags)", v)
			}
			if err := checkValue(HeaderTags, tag, maxTagLen); err != nil {
				return a, err
			}
			a.Tags = append(a.Tags, tag)
		}
		if len(a.Tags) > maxTags {
			return a, badHeader(HeaderTags, "%d tags, at most %d", len(a.Tags), maxTags)
		}
	}
	if v, ok, err := single(h, HeaderProperties); err != nil {
		return a, err
	} else if ok {
		if len(v) > maxPropertiesLen {
			return a, badHeader(HeaderProperties, "%d bytes, at most %d", len(v), maxPropertiesLen)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(v), &obj); err != nil || obj == nil {
			return a, badHeader(HeaderProperties, "must be a JSON object such as {\"region\":\"eu\"}")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(v)); err != nil {
			return a, badHeader(HeaderProperties, "must be a JSON object")
		}
		a.Properties = buf.Bytes()
	}
	if v, ok, err := single(h, HeaderNoLog); err != nil {
		return a, err
	} else if ok {
		switch strings.ToLower(v) {
		case "1", "true", "yes":
			a.NoLog = true
		case "0", "false", "no":
		default:
			return a, badHeader(HeaderNoLog, "%q is not true or false", v)
		}
	}
	return a, nil
}

func checkValue(name, v string, max int) error {
	if v == "" {
		return badHeader(name, "empty value")
	}
	if len(v) > max {
		return badHeader(name, "%d bytes, at most %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return badHeader(name, "not valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return badHeader(name, "contains a control character")
		}
	}
	return nil
}
