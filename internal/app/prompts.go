package app

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/prompt"
)

// prompter adapts the prompt registry to the gateway.
type prompter struct{ r *prompt.Registry }

var _ gateway.Prompter = prompter{}

// Prepare implements gateway.Prompter: a prompt that does not exist or
// does not render is the caller's error (400); a store failure is ours.
func (p prompter) Prepare(ctx context.Context, anthropic bool, body []byte, h http.Header, provider, model, defaultRef string) ([]byte, gateway.PromptInfo, error) {
	if defaultRef != "" && h.Get(prompt.HeaderPrompt) == "" && !bytes.Contains(body, []byte(`"`+prompt.BodyField+`"`)) {
		// The route's prompt, for a call that names none.
		h = h.Clone()
		h.Set(prompt.HeaderPrompt, defaultRef)
	}
	s := prompt.OpenAIChat
	if anthropic {
		s = prompt.AnthropicMessages
	}
	out, r, err := p.r.Prepare(ctx, s, body, h, prompt.Target{Provider: provider, Model: model})
	if err != nil {
		for _, caller := range []error{prompt.ErrNotFound, prompt.ErrInvalid, prompt.ErrMissingVariable, prompt.ErrUnknownVariable,
			prompt.ErrInvalidVariable, prompt.ErrPartialCycle, prompt.ErrPartialsTooDeep, prompt.ErrOutputTooLarge} {
			if errors.Is(err, caller) {
				e := apierror.New(apierror.InvalidRequest, "prompt: %s", err.Error())
				e.Code = "invalid_prompt"
				return nil, gateway.PromptInfo{}, e
			}
		}
		return nil, gateway.PromptInfo{}, apierror.Wrap(apierror.Internal, err, "the prompt could not be read")
	}
	if r == nil {
		return out, gateway.PromptInfo{}, nil
	}
	return out, gateway.PromptInfo{Name: r.Name, Version: r.Version, Variant: r.Variant}, nil
}

// promptRoutes are the prompt registry's management routes: reads (and
// the dry-run render) need read, changes prompts.write.
func promptRoutes(reg *prompt.Registry) []api.ExtraRoute {
	h := reg.Handler()
	var out []api.ExtraRoute
	for _, rt := range prompt.Routes {
		perm := auth.Read
		if rt.Write {
			perm = auth.WritePrompts
		}
		out = append(out, api.ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: perm, TeamScoped: true, Handler: h})
	}
	return out
}
