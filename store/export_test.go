package store

import "context"

// OpenSQLiteSynchronous opens like OpenSQLite with another synchronous level
// (FULL or NORMAL); tests and benchmarks compare the two.
func OpenSQLiteSynchronous(ctx context.Context, path, level string) (*SQLite, error) {
	return openSQLite(ctx, path, sqliteOptions{synchronous: level})
}

// SchemaVersion is the highest applied migration.
func (c *core) SchemaVersion(ctx context.Context) (int, error) { return c.schemaVersion(ctx) }
