package store

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
)

// migrationFS holds the numbered schema migrations, one directory per driver:
// migrations/<driver>/NNNN_name.sql. A migration is never edited once
// released; a change is a new, higher-numbered file.
//
//go:embed migrations
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4,})_([a-z0-9_]+)\.sql$`)

// parseMigrationName splits "0001_init.sql" into 1 and "init".
func parseMigrationName(file string) (int, string, error) {
	m := migrationName.FindStringSubmatch(file)
	if m == nil {
		return 0, "", fmt.Errorf("migration file %q is not named NNNN_name.sql", file)
	}
	v, err := strconv.Atoi(m[1])
	if err != nil || v <= 0 {
		return 0, "", fmt.Errorf("migration file %q has no positive version", file)
	}
	return v, m[2], nil
}

// loadMigrations reads one driver's migrations, ordered by version. Versions
// must be unique; gaps are allowed.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		v, name, err := parseMigrationName(e.Name())
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return ms, nil
}

// pendingMigrations returns the migrations above current, or an error when
// the database was migrated by a newer binary than this one (running old code
// on a newer schema is refused rather than guessed at).
func pendingMigrations(ms []migration, current int) ([]migration, error) {
	latest := ms[len(ms)-1].version
	if current > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this binary's %d", current, latest)
	}
	var out []migration
	for _, m := range ms {
		if m.version > current {
			out = append(out, m)
		}
	}
	return out, nil
}

// migrationsTo keeps the migrations up to version to (all when to is 0).
// Tests use it to build a database of an older schema and migrate it.
func migrationsTo(ms []migration, to int) []migration {
	if to <= 0 {
		return ms
	}
	out := ms[:0:0]
	for _, m := range ms {
		if m.version <= to {
			out = append(out, m)
		}
	}
	return out
}
