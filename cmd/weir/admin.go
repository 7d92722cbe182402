package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/credential"
	"github.com/weirhq/weir/internal/secret"
	"github.com/weirhq/weir/internal/store/sqlite"
)

const adminUsage = `usage:
  weir admin create-user --name NAME --role admin|finance|owner|reviewer|viewer [--team T] [--email E] [--password-stdin]
  weir admin reset-password --name NAME [--password-stdin]
  weir admin list-users
  weir admin create-token --person NAME --name WHAT [--role R] [--team T] [--expires D]
  (each also takes --config FILE and --data DIR)`

// cliActor is who the audit log names for changes made from the CLI.
func cliActor(ctx context.Context) context.Context {
	return audit.WithActor(ctx, audit.CLIActor())
}

// adminCommand manages people and management tokens directly in the data
// directory (no running Weir needed): the way to create the first admin.
func adminCommand(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(adminUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("admin "+verb, flag.ContinueOnError)
	name := fs.String("name", "", "the person's name (create-user, reset-password) or the token's purpose (create-token)")
	role := fs.String("role", "", "role: admin, finance, owner, reviewer or viewer")
	team := fs.String("team", "", "limit the person or token to one team's calls")
	email := fs.String("email", "", "the person's email")
	person := fs.String("person", "", "the person a token belongs to")
	expires := fs.String("expires", "", "token expiry, YYYY-MM-DD or RFC 3339 (default: none)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (default: print a one-time password)")
	cfgPath := fs.String("config", "", "configuration file (default: from the environment)")
	data := fs.String("data", "", "data directory (default: the config's data_dir)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "weir.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	m, err := app.OpenAuth(cfg, st, audit.New(st, audit.Options{}), nil)
	if err != nil {
		return err
	}
	ctx = cliActor(ctx)
	password := func() (string, error) {
		if !*pwStdin {
			return "", nil
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	switch verb {
	case "create-user":
		if *name == "" || *role == "" {
			return errors.New(adminUsage)
		}
		pw, err := password()
		if err != nil {
			return err
		}
		p, otp, err := m.CreatePerson(ctx, *name, auth.PersonInput{Role: *role, Team: *team, Email: *email}, pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (%s)\n", p.Name, p.Role)
		if otp != "" {
			fmt.Fprintf(stdout, "one-time password (shown once; it must be changed at the first sign-in):\n%s\n", otp)
		}
		return nil
	case "reset-password":
		if *name == "" {
			return errors.New(adminUsage)
		}
		pw, err := password()
		if err != nil {
			return err
		}
		otp, err := m.SetPassword(ctx, *name, pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s set; their sessions ended\n", *name)
		if otp != "" {
			fmt.Fprintf(stdout, "one-time password (shown once):\n%s\n", otp)
		}
		return nil
	case "list-users":
		ps, err := m.People(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ps)
	case "create-token":
		if *person == "" || *name == "" {
			return errors.New(adminUsage)
		}
		in := auth.TokenInput{Name: *name, Role: *role, Team: *team, Person: *person}
		if *expires != "" {
			t, err := parseWhen(*expires)
			if err != nil {
				return fmt.Errorf("--expires: %w", err)
			}
			in.ExpiresAt = &t
		}
		tok, err := m.CreateToken(ctx, auth.Principal{Kind: "cli", Role: auth.Admin}, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %s for %s as %s (shown once, keep it now):\n%s\n", tok.ID, tok.Person, tok.Role, tok.Secret)
		return nil
	}
	return fmt.Errorf("weir admin %s: unknown; %s", verb, adminUsage)
}

// credentialsRotate reseals every stored provider key under the current
// master key (WEIR_MASTER_KEY), opening those sealed under the previous one
// (WEIR_MASTER_KEY_PREVIOUS). Starting Weir does the same.
func credentialsRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("credentials rotate", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (default: from the environment)")
	data := fs.String("data", "", "data directory (default: the config's data_dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	box, err := secret.FromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "weir.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	n, err := credential.Rotate(ctx, st, box, newLogger(stderr, cfg.Log))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d stored provider keys resealed under master key %s\n", n, box.KeyID())
	return nil
}
