package dashboard

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/access"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/prompt"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// SettingsSources are what the Settings pages read: teams, applications
// and keys, people and roles, prompts. Teams are not kept anywhere of
// their own: the page gathers them from applications, people, limits
// (SpendSources.Limits) and the spend of the last 30 days. Every field is
// optional: the page says what a nil field leaves out.
type SettingsSources struct {
	// Access lists applications with their keys (the read side of
	// api.Access; *access.Manager).
	Access Applications
	// People lists the people who may sign in (the read side of
	// api.People; *auth.Manager). Only admins see the list.
	People PeopleLister
	// Prompts lists the prompt registry (*prompt.Registry).
	Prompts PromptLister
}

// Applications is the read side of api.Access.
type Applications interface {
	Applications(ctx context.Context) ([]access.ApplicationView, error)
}

// PeopleLister is the read side of api.People.
type PeopleLister interface {
	People(ctx context.Context) ([]store.Person, error)
}

// PromptLister reads the prompt registry.
type PromptLister interface {
	// List returns every prompt (kind store.PromptKindPrompt) or partial
	// (store.PromptKindPartial) with its labels, by name.
	List(ctx context.Context, kind string) ([]prompt.Summary, error)
	// Get returns a version of a prompt: "name", "name@label" or
	// "name@version".
	Get(ctx context.Context, ref string) (prompt.Version, error)
}

// settingsData is the Settings page.
type settingsData struct {
	Team string
	// HasApps, HasPeople, HasPrompts: the sources are wired.
	HasApps, HasPeople, HasPrompts bool
	// CanSeePeople: the viewer may see the people list (admins).
	CanSeePeople bool
	Teams        []teamView
	Apps         []appView
	People       []store.Person
	Roles        []roleView
	Permissions  []auth.Permission
	Prompts      []promptView
	Partials     []prompt.Summary
	Errors       []string
}

// teamView is one team as the other settings name it.
type teamView struct {
	Name                      string
	Applications, PeopleCount int
	Limits                    []string
	// Calls and Spend are the last 30 days' (UTC days, today included).
	Calls int64
	Spend store.Amount
}

type appView struct {
	access.ApplicationView
	Keys []keyView
	// Active counts the keys that work now.
	Active int
}

type keyView struct {
	store.StoredKey
	// State is active, expired or revoked.
	State string
}

type roleView struct {
	Role auth.Role
	Can  []bool
}

type promptView struct {
	prompt.Summary
	// Labels are the labels in force, by name.
	Labels []labelView
	// Latest is the latest version (nil when it could not be read).
	Latest *prompt.Version
}

type labelView struct {
	Label   string
	Version int
}

// settingsPermissions are the permissions the roles table shows.
var settingsPermissions = []auth.Permission{auth.Read, auth.Quote, auth.WriteCosts, auth.WriteLimits, auth.WriteUseCases, auth.WriteKPIs,
	auth.WritePrompts, auth.WriteAccess, auth.ReadPeople, auth.ManagePeople, auth.ReadAudit, auth.ReadConfig, auth.WriteCredentials, auth.Ingest, auth.Review}

// settings shows teams, applications and their keys (never secrets),
// people and roles, and the prompt registry, read-only. A team-limited
// viewer sees its own team and applications; only admins see the people.
func (d *Dashboard) settings(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	src := d.opt.Settings
	data := settingsData{Team: v.Team, CanSeePeople: v.Role == auth.Admin, Permissions: settingsPermissions}
	status := http.StatusOK
	fail := func(what string, err error) {
		d.log.Error("settings: "+what, "err", err)
		status = http.StatusInternalServerError
		data.Errors = append(data.Errors, "Could not read "+what+"; try again.")
	}
	teams := map[string]*teamView{}
	team := func(name string) *teamView {
		if name == "" || v.Team != "" && name != v.Team {
			return nil
		}
		if teams[name] == nil {
			teams[name] = &teamView{Name: name}
		}
		return teams[name]
	}
	if v.Team != "" {
		team(v.Team)
	}
	now := d.now()
	if src.Access != nil {
		data.HasApps = true
		apps, err := src.Access.Applications(ctx)
		if err != nil {
			fail("the applications", err)
		}
		for _, a := range apps {
			if v.Team != "" && a.Team != v.Team {
				continue
			}
			av := appView{ApplicationView: a}
			for _, k := range a.Keys {
				kv := keyView{StoredKey: k, State: "active"}
				switch {
				case k.RevokedAt != nil:
					kv.State = "revoked"
				case k.ExpiresAt != nil && !k.ExpiresAt.After(now):
					kv.State = "expired"
				default:
					av.Active++
				}
				av.Keys = append(av.Keys, kv)
			}
			data.Apps = append(data.Apps, av)
			if t := team(a.Team); t != nil {
				t.Applications++
			}
		}
	}
	if src.People != nil && data.CanSeePeople {
		data.HasPeople = true
		ps, err := src.People.People(ctx)
		if err != nil {
			fail("the people", err)
		}
		data.People = ps
		for _, p := range ps {
			if t := team(p.Team); t != nil {
				t.PeopleCount++
			}
		}
	}
	for _, role := range auth.Roles {
		rv := roleView{Role: role}
		for _, p := range settingsPermissions {
			rv.Can = append(rv.Can, role.Can(p))
		}
		data.Roles = append(data.Roles, rv)
	}
	if l := d.opt.Spend.Limits; l != nil {
		for _, lim := range visibleLimits(l.List(), v.Team) {
			if t := team(lim.Match.Team); t != nil {
				t.Limits = append(t.Limits, lim.Name)
			}
		}
	}
	if ru := d.opt.Rollups; ru != nil {
		today := now.UTC().Truncate(24 * time.Hour)
		rows, err := ru.Rollup(ctx, store.RollupQuery{From: today.AddDate(0, 0, -29), To: today.AddDate(0, 0, 1),
			GroupBy: []string{store.RollupTeam}, Filter: rollup.Key{Team: v.Team}})
		if err != nil {
			fail("the teams' spend", err)
		}
		for _, r := range rows {
			if t := team(r.Key.Team); t != nil {
				t.Calls += r.Calls
				t.Spend.AddAmount(spendOf(&r.Agg))
			}
		}
	}
	for _, t := range teams {
		data.Teams = append(data.Teams, *t)
	}
	slices.SortFunc(data.Teams, func(a, b teamView) int { return strings.Compare(a.Name, b.Name) })
	if p := src.Prompts; p != nil {
		data.HasPrompts = true
		sums, err := p.List(ctx, store.PromptKindPrompt)
		if err != nil {
			fail("the prompts", err)
		}
		for _, s := range sums {
			pv := promptView{Summary: s}
			for _, l := range slices.Sorted(maps.Keys(s.Labels)) {
				pv.Labels = append(pv.Labels, labelView{l, s.Labels[l]})
			}
			if ver, err := p.Get(ctx, s.Name+"@"+strconv.Itoa(s.LatestVersion)); err != nil {
				fail("prompt "+s.Name, err)
			} else {
				pv.Latest = &ver
			}
			data.Prompts = append(data.Prompts, pv)
		}
		if data.Partials, err = p.List(ctx, store.PromptKindPartial); err != nil {
			fail("the prompt partials", err)
		}
	}
	d.render(w, status, "settings", "", view{Title: "Settings", Active: Prefix + "settings", Viewer: &v, Data: data})
}
