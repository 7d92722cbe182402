// Package drift notices when a model, a prompt or the traffic changes
// behaviour. This file turns the model identities the store keeps into
// events: a model answering as a new identity (another model version or
// system fingerprint behind the same name) is a change a person should
// see next to their own changes. The statistics of behaviour drift are in
// drift/stat.
package drift

import (
	"cmp"
	"slices"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// KindModelIdentity is the kind of an identity change event.
const KindModelIdentity = "model_identity"

// Identity is what a model answered as.
type Identity struct {
	ResponseModel     string `json:"response_model"`
	SystemFingerprint string `json:"system_fingerprint"`
}

// Event is one drift event: a model answering as a new identity
// (KindModelIdentity) or a behaviour signal of a use case on a model that
// changed (KindBehaviour, with its Finding).
type Event struct {
	// ID is set once the event is stored.
	ID       string `json:"id,omitempty"`
	Kind     string `json:"kind"`
	Signal   string `json:"signal,omitempty"`
	UseCase  string `json:"use_case,omitempty"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// At is when the change began: an identity's first call, a
	// behaviour change's estimated change point.
	At time.Time `json:"at"`
	// DetectedAt is when the monitor found it (stored events only).
	DetectedAt time.Time `json:"detected_at,omitzero"`
	// Summary says what changed in one line (stored events only).
	Summary string `json:"summary,omitempty"`
	// Previous is the identity most recently seen before At (the one in
	// use when the new one appeared); Current the new one.
	Previous Identity `json:"previous,omitzero"`
	Current  Identity `json:"current,omitzero"`
	// Calls is how many successful calls the new identity answered so far.
	Calls int64 `json:"calls,omitempty"`
	// Finding is what a behaviour event found.
	Finding *Finding `json:"finding,omitempty"`
}

// String is the identity as a person reads it.
func (i Identity) String() string {
	switch {
	case i.SystemFingerprint == "":
		return i.ResponseModel
	case i.ResponseModel == "":
		return i.SystemFingerprint
	}
	return i.ResponseModel + " (" + i.SystemFingerprint + ")"
}

// IdentityEvents returns an event for every identity of a model that
// appeared after its first one, oldest first. A fingerprint seen before
// is not new: models served by several backends alternate between known
// fingerprints, and that is no change.
func IdentityEvents(ids []store.ModelIdentity) []Event {
	type model struct{ provider, name string }
	by := map[model][]store.ModelIdentity{}
	for _, id := range ids {
		m := model{id.Provider, id.Model}
		by[m] = append(by[m], id)
	}
	var out []Event
	for m, list := range by {
		slices.SortFunc(list, func(a, b store.ModelIdentity) int {
			return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), cmp.Compare(a.ResponseModel, b.ResponseModel), cmp.Compare(a.SystemFingerprint, b.SystemFingerprint))
		})
		for i := 1; i < len(list); i++ {
			cur := list[i]
			// The previous identity: of those seen before cur appeared, the
			// one seen last then; when all go on past it, the one that
			// appeared just before it.
			prev, found := list[i-1], false
			for _, p := range list[:i] {
				if p.LastSeen.Before(cur.FirstSeen) && (!found || p.LastSeen.After(prev.LastSeen)) {
					prev, found = p, true
				}
			}
			if !found {
				prev = list[i-1]
			}
			out = append(out, Event{Kind: KindModelIdentity, Provider: m.provider, Model: m.name, At: cur.FirstSeen,
				Previous: Identity{prev.ResponseModel, prev.SystemFingerprint}, Current: Identity{cur.ResponseModel, cur.SystemFingerprint}, Calls: cur.Calls})
		}
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return out
}
